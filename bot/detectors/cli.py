"""``afterlaunch detect``: run every detector once, as the scheduler would at a given moment."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import orjson

from bot.config import load_settings
from bot.detectors import Finding


def parse_moment(at: str | None) -> datetime:
    """``--at``: ISO 8601 with a zone; now when absent."""
    if at is None:
        return datetime.now(UTC)
    try:
        now = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"'{at}' is not ISO 8601, e.g. 2026-11-26T09:30:00Z", param_hint="--at") from None
    if now.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. end it with Z", param_hint="--at")
    return now


def json_line(finding: Finding) -> str:
    """One finding as the scripted interface prints it: one JSON object on one line."""
    return orjson.dumps(finding.to_json(), option=orjson.OPT_SORT_KEYS).decode()


def print_human(findings: list[Finding], now: datetime, dry_run: bool) -> None:
    click.echo(
        f"{len(findings)} finding(s) at {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC" + (" (dry run)" if dry_run else "")
    )
    for f in findings:
        click.echo(f"[{f.status} {f.severity}] {f.title}  key={f.key}")
        click.echo(f"  labels: {', '.join(f'{k}={v}' for k, v in sorted(f.labels.items()))}")
        if f.runbook or f.cause:
            flag = f", kill switch: {f.suggested_flag}" if f.suggested_flag else ""
            click.echo(f"  cause: {f.cause or '-'}, runbook: {f.runbook or '-'}{flag}, incident: {f.incident}")
        click.echo(f"  {f.summary}")
        for label, value in f.figures:
            click.echo(f"    {label}: {value}")


@click.command("detect")
@click.option("--at", "at", default=None, help="the moment to evaluate, ISO 8601 with a zone (default: now)")
@click.option("--dry-run", is_flag=True, help="only print the findings: no alert, no card, no stored alarm state")
@click.option("--only", "only", multiple=True, help="run only this detector (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per finding per line, for scripts")
def detect(at: str | None, dry_run: bool, only: tuple[str, ...], as_json: bool) -> None:
    """Run the detectors once, for backfills, drills and scripted checks."""
    from bot.detectors import run_detectors
    from bot.services import build_services

    now = parse_moment(at)
    services = build_services(load_settings(scheduler=False))  # a bad setting: the CLI group says which
    try:
        findings = run_detectors(services, now, only=list(only) or None, dry_run=dry_run)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
    if as_json:
        for finding in findings:
            click.echo(json_line(finding))
    else:
        print_human(findings, now, dry_run)
