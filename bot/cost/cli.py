"""``afterlaunch detect``: run every detector once, as the scheduler would at a given moment."""

from __future__ import annotations

from datetime import UTC, datetime

import click


@click.command("detect")
@click.option("--at", "at", default=None, help="the moment to evaluate, ISO 8601 with a zone (default: now)")
@click.option("--dry-run", is_flag=True, help="only print the findings: no alert, no card, no stored alarm state")
@click.option("--only", "only", multiple=True, help="run only this detector (repeatable)")
def detect(at: str | None, dry_run: bool, only: tuple[str, ...]) -> None:
    """Run the detectors once, for backfills, drills and scripted checks."""
    from bot.__main__ import _settings
    from bot.detectors import run_detectors
    from bot.services import build_services

    if at is None:
        now = datetime.now(UTC)
    else:
        try:
            now = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(f"'{at}' is not ISO 8601, e.g. 2026-11-26T09:30:00Z", param_hint="--at") from None
        if now.tzinfo is None:
            raise click.BadParameter("give a time zone, e.g. end it with Z", param_hint="--at")
    services = build_services(_settings(scheduler=False))
    try:
        findings = run_detectors(services, now, only=list(only) or None, dry_run=dry_run)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
    click.echo(
        f"{len(findings)} finding(s) at {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC" + (" (dry run)" if dry_run else "")
    )
    for f in findings:
        click.echo(f"[{f.status} {f.severity}] {f.title}  key={f.key}")
        click.echo(f"  labels: {', '.join(f'{k}={v}' for k, v in sorted(f.labels.items()))}")
        click.echo(f"  {f.summary}")
        for label, value in f.figures:
            click.echo(f"    {label}: {value}")
