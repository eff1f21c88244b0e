"""``/oncall``: who is on call now and next."""

from __future__ import annotations

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand


def handle_oncall(services: Services, request: CommandRequest) -> CommandReply:
    """Now and next from the schedule (calendar, overrides, rota), and where that came from."""
    from bot.oncall import schedule

    text = schedule.now_and_next_text(services, request.now)
    return CommandReply(card=Card(text="On call", blocks=[b.header("On call"), b.section(text)]))


ONCALL = SlashCommand(name="/oncall", description="Who is on call now and next", usage_hint="", handler=handle_oncall)
