"""``afterlaunch flags``: the flags outside Slack (export for flagd when afterlaunch is down)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import orjson

from bot.config import load_settings
from bot.flags.flagd import export_flagd
from bot.flags.snapshot import current_snapshot
from bot.services import build_services


@click.group("flags")
def flags() -> None:
    """Kill-switch flags."""


@flags.command("export")
@click.option("--format", "fmt", type=click.Choice(["flagd"]), default="flagd", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="file (default stdout)")
def export(fmt: str, output: Path | None) -> None:
    """Write the current flags and kills as a flagd flag-definition file."""
    settings = load_settings(scheduler=False)  # a bad setting: the CLI group says which
    services = build_services(settings)
    try:
        document = export_flagd(current_snapshot(services, datetime.now(UTC)))
    finally:
        services.close()
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {len(document['flags'])} flag(s) to {output}", err=True)
