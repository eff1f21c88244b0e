"""``afterlaunch evals sample [--at T] [--seed N]`` and ``afterlaunch evals export ... --output FILE``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click


def _moment(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"'{at}' is not ISO 8601, e.g. 2026-11-26T09:30:00Z", param_hint="--at") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. end it with Z", param_hint="--at")
    return moment


@click.group("evals")
def evals() -> None:
    """Production labelling batches and labelled-item exports."""


@evals.command("sample")
@click.option("--at", default=None, help="end of the sampled week, ISO 8601 with a zone (default: now)")
@click.option("--seed", default=None, type=int, help="the sampling seed (default: the time); same seed, same sample")
def sample(at: str | None, seed: int | None) -> None:
    """Draw a stratified sample of the last 7 days into a labelling batch and post it."""
    from bot.__main__ import _settings
    from bot.evals.labelling import start_batch
    from bot.services import build_services

    now = _moment(at)
    services = build_services(_settings(scheduler=False))
    try:
        batch, n = start_batch(services, now, seed=seed)
    finally:
        services.close()
    channel = services.settings.file.evals.channel
    where = f"posted to {channel}" if channel else "stored (set [evals].channel to post it)"
    click.echo(f"batch #{batch.id}: {n} item(s), seed {batch.seed}, {where}")


@evals.command("export")
@click.option("--intent", default=None, help="only this intent")
@click.option("--label", type=click.Choice(["pass", "fail", "unsure"]), default=None, help="only this verdict")
@click.option("--since", default="4w", show_default=True, help="labels made in this span back from now (4w, 30d)")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="the JSONL file")
def export(intent: str | None, label: str | None, since: str, output: Path) -> None:
    """Labelled production items as JSONL, one line per label, ready to become eval cases."""
    from bot.__main__ import _settings
    from bot.errors import UserError
    from bot.evals.export import iter_export, parse_since, write_jsonl
    from bot.services import build_services

    try:
        span = parse_since(since)
    except UserError as exc:
        raise click.BadParameter(exc.message, param_hint="--since") from None
    services = build_services(_settings(scheduler=False))
    settings = services.settings
    try:
        with services.db.session() as session, output.open("wb") as out:
            rows = iter_export(
                session,
                now=datetime.now(UTC),
                since=span,
                body_retention=timedelta(days=settings.retention_body_days),
                excluded=list(settings.file.evals.opted_out_tenants),
                intent=intent,
                label=label,
            )
            n = write_jsonl(rows, out)
    finally:
        services.close()
    click.echo(f"{n} labelled item(s) written to {output}")
