"""``afterlaunch ask``: slash commands from the terminal, for when Slack is down."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.cards.terminal import to_terminal
from bot.config import Settings
from bot.services import build_services
from bot.slack.commands import all_commands
from bot.slack.registry import CommandRequest, find, run_command


def ask_once(settings: Settings, command_line: str, *, user: str, channel: str, echo: Callable[[str], None]) -> int:
    """Run one command line; returns the process exit code (2 for an unknown command)."""
    name, _, text = command_line.strip().partition(" ")
    if not name.startswith("/"):
        name = "/" + name
    commands = all_commands()
    command = find(commands, name)
    if command is None:
        known = ", ".join(c.name for c in commands)
        echo(f"unknown command {name!r}; known: {known}")
        return 2
    services = build_services(settings)
    try:
        request = CommandRequest(
            command=name, text=text.strip(), user_id=user, channel_id=channel, now=datetime.now(UTC)
        )
        reply = run_command(services, command, request)
    finally:
        services.close()
    echo(to_terminal(reply.card.to_message()))
    for upload in reply.uploads:
        path = Path(settings.data_dir) / upload.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.content)
        echo(f"[{upload.title}: saved to {path}]")
    return 0


def split_words(text: str) -> list[str]:
    """Command arguments as a person types them, quotes allowed ('/triage "the AI said"')."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        from bot.errors import UserError

        raise UserError(f"could not read the arguments: {exc}") from None
