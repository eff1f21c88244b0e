"""``afterlaunch incident export ID``: the postmortem draft outside Slack."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bot.config import ConfigError, load_settings
from bot.errors import UserError
from bot.incidents.export import FORMATS, postmortem
from bot.services import build_services


@click.group("incident")
def incident() -> None:
    """Incidents declared in Slack."""


@incident.command("export")
@click.argument("incident_id", type=int)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="file (default stdout)")
def export(incident_id: int, fmt: str, output: Path | None) -> None:
    """Write the postmortem draft of an incident: summary, timeline, impact, response times, open questions."""
    try:
        settings = load_settings(scheduler=False)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    services = build_services(settings)
    try:
        text = postmortem(services, incident_id, datetime.now(UTC), fmt)
    except UserError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        services.close()
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n")
        click.echo(f"wrote the postmortem draft of incident {incident_id} to {output}", err=True)
