"""``afterlaunch drill`` and ``afterlaunch readiness``: thin wrappers over :mod:`bot.drill.run` and readiness."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import click
import orjson

from bot.config import load_settings
from bot.drill.run import INCIDENTS


@click.command("readiness")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per gap per line")
def readiness_cmd(as_json: bool) -> None:
    """List what the configuration lacks for the six incidents; exit 1 when a gap is critical."""
    from bot.drill.readiness import check
    from bot.services import build_services

    services = build_services(load_settings(scheduler=False))
    try:
        gaps = check(services, datetime.now(UTC))
    finally:
        services.close()
    for gap in gaps:
        if as_json:
            click.echo(orjson.dumps({"level": gap.level, "area": gap.area, "message": gap.message}).decode())
        else:
            click.echo(f"[{gap.level}] {gap.area}: {gap.message}")
    critical = sum(g.level == "critical" for g in gaps)
    if not as_json:
        click.echo(f"{critical} critical gap(s), {len(gaps) - critical} warning(s)")
    if critical:
        raise SystemExit(1)


@click.command("drill")
@click.argument("incident", type=click.Choice([*INCIDENTS, "all", "history"]), default="all")
@click.option("--cause", default=None, help="the cause the card must name (as detect --json prints it)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per incident per line")
@click.option("--url", default=None, help="the running afterlaunch (default: http://127.0.0.1:$AFTERLAUNCH_PORT)")
def drill(incident: str, cause: str | None, as_json: bool, url: str | None) -> None:
    """Rehearse an incident against the running service (exit 1 when a step did not pass), or print the history."""
    from bot.drill.run import run_drill
    from bot.services import build_services

    if incident == "history":
        from bot.drill.scorecard import text

        services = build_services(load_settings(scheduler=False))
        try:
            click.echo(text(services))
        finally:
            services.close()
        return
    url = url or f"http://127.0.0.1:{os.environ.get('AFTERLAUNCH_PORT', '3000')}"
    chosen = list(INCIDENTS) if incident == "all" else [incident]
    services = build_services(load_settings(scheduler=False))
    try:
        results = run_drill(services, url, chosen, datetime.now(UTC), cause=cause)
    finally:
        services.close()
    for r in results:
        if as_json:
            click.echo(orjson.dumps(r.to_json()).decode())
            continue
        mark = "PASS" if r.fired and not r.problems else "FAIL"
        took = f" in {r.onset_to_card_s:.0f}s after onset" if r.onset_to_card_s is not None else ""
        click.echo(
            f"[{mark}] {r.incident}: fired={r.fired}{took} cause={r.card_cause or '-'} runbook={r.runbook or '-'}"
        )
        if r.paged:
            click.echo(f"  paged {', '.join(r.paged)}; escalation {'would follow' if r.escalated else 'none'}")
        if r.suggested_flag:
            click.echo(f"  suggested kill switch (simulated, not flipped): {r.suggested_flag}")
        for p in r.problems:
            click.echo(f"  problem: {p}")
    if any(r.problems or not r.fired for r in results):
        raise SystemExit(1)
