"""Slash commands as data: one list feeds Bolt, the manifest and ``afterlaunch ask``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.errors import problem_of
from bot.services import Services


@dataclass(frozen=True)
class CommandRequest:
    """What a person asked, wherever they asked it (Slack or the terminal)."""

    command: str
    text: str
    user_id: str
    channel_id: str
    now: datetime
    response_url: str | None = None
    trigger_id: str | None = None
    """Slack's trigger for opening a modal (valid 3 s after the command), when the command came from Slack."""


@dataclass
class Upload:
    """A file to attach next to the reply (charts)."""

    filename: str
    content: bytes
    title: str


@dataclass
class CommandReply:
    card: Card
    in_channel: bool = False
    uploads: list[Upload] = field(default_factory=list)


@dataclass(frozen=True)
class SlashCommand:
    name: str
    description: str
    usage_hint: str
    handler: Callable[[Services, CommandRequest], CommandReply]


def error_card(message: str) -> Card:
    return Card(text=message, blocks=[b.section(f":warning: {message}")])


def run_command(services: Services, command: SlashCommand, request: CommandRequest) -> CommandReply:
    """Run a command; a known error becomes a reply the user can act on, an unknown one a reference id."""
    try:
        return command.handler(services, request)
    except Exception as exc:
        return CommandReply(card=error_card(problem_of(exc, where=command.name).message))


def find(commands: list[SlashCommand], name: str) -> SlashCommand | None:
    return next((c for c in commands if c.name == name), None)
