"""Slash commands as data: one list feeds Bolt, the manifest and ``afterlaunch ask``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import orjson

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.errors import problem_of
from bot.scope import TenantScope, known_tenants, leaked_tenants, scope_for_channel
from bot.services import Services

log = logging.getLogger(__name__)


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
    scope: TenantScope | None = None
    """The tenants the channel may see. ``run_command`` sets it from ``[channels].tenant_channels``
    whatever the caller passed; handlers read it through ``tenant_scope``."""
    access: Callable[[str], bool] | None = None
    """Whether the asking user holds an access capability (``[access]``), when the caller can tell."""

    @property
    def tenant_scope(self) -> TenantScope:
        """The channel's scope; a request that did not go through ``run_command`` has none and fails loudly."""
        if self.scope is None:
            raise RuntimeError(f"{self.command} ran without a tenant scope: call it through run_command")
        return self.scope

    def may(self, capability: str) -> bool:
        """Whether the user holds ``capability``; False when nobody told us who may."""
        return self.access is not None and self.access(capability)


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
    request = replace(request, scope=scope_for_channel(services, request.channel_id))
    try:
        return guard_reply(services, request, command.handler(services, request))
    except Exception as exc:
        return CommandReply(card=error_card(problem_of(exc, where=command.name).message))


def guard_reply(services: Services, request: CommandRequest, reply: CommandReply) -> CommandReply:
    """The last line of the tenant scope: a reply in a tenant channel that names another tenant is withheld.

    Queries are scoped through ``request.tenant_scope``; this catches a command that forgot.
    """
    scope = request.tenant_scope
    if scope.all_tenants:
        return reply
    # A name the asker typed is echoed back in "not found" answers: that is not a leak.
    known = [t for t in known_tenants(services) if t not in request.text]
    leaked = leaked_tenants(scope, orjson.dumps(reply.card.to_message()).decode(), known)
    if not leaked:
        return reply
    ref = uuid.uuid4().hex[:8]
    log.error(
        "%s in a tenant channel named %d other tenant(s); reply withheld (ref %s)", request.command, len(leaked), ref
    )
    message = f"{request.command} would have shown other tenants here, so it was withheld (ref {ref})."
    return CommandReply(card=error_card(message))


def find(commands: list[SlashCommand], name: str) -> SlashCommand | None:
    return next((c for c in commands if c.name == name), None)
