"""``afterlaunch triage IMAGE``: the screenshot pipeline from a file, for when Slack is down and for scripts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bot.config import load_settings


@click.command("triage")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "tenants", multiple=True, help="only this tenant's requests (repeatable); default: all")
def triage(image: Path, tenants: tuple[str, ...]) -> None:
    """Read a screenshot of the AI, find the logged request behind it and print the triage card."""
    from bot.cards.terminal import to_terminal
    from bot.errors import AfterlaunchError
    from bot.services import build_services
    from bot.triage.cards import outcome_card
    from bot.triage.pipeline import triage_image

    settings = load_settings(scheduler=False)  # a bad setting: the CLI group says which
    services = build_services(settings)
    try:
        outcome = triage_image(services, image.read_bytes(), tenants=set(tenants) or None, now=datetime.now(UTC))
    except AfterlaunchError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        services.close()
    click.echo(to_terminal(outcome_card(outcome).to_message()))
    timings = ", ".join(f"{name} {ms:.0f} ms" for name, ms in outcome.timings_ms.items())
    click.echo(f"[{outcome.kind}; {timings}]", err=True)
    if outcome.kind != "match":
        raise SystemExit(1)
