"""``afterlaunch runbooks check``: validate every runbook, pointing at the file and line of a mistake."""

from __future__ import annotations

from pathlib import Path

import click

from bot.runbooks import check_runbooks, default_runbook_dir, format_problem
from bot.runbooks.loader import runbook_files
from bot.runbooks.model import RunbookError


@click.group()
def runbooks() -> None:
    """Runbooks: the Markdown files triage cards take their steps from."""


@runbooks.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def check(directory: Path | None) -> None:
    """Check every runbook (default: the shipped folder); exits 1 when any has a problem."""
    try:
        folder = default_runbook_dir(directory)
    except RunbookError as exc:
        raise click.ClickException(str(exc)) from None
    problems = check_runbooks(folder)
    for problem in problems:
        click.echo(format_problem(problem))
    click.echo(f"{len(runbook_files(folder))} runbooks, {len(problems)} problems", err=True)
    if problems:
        raise SystemExit(1)
