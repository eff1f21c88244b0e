"""``/afterlaunch``: what the bot can do, and whether it is healthy."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.text import render
from bot.errors import UserError
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand
from storage import rollups
from storage.models import OutboxMessage


def help_card(commands: list[SlashCommand]) -> Card:
    lines = [{"name": c.name, "usage": c.usage_hint, "description": c.description} for c in commands]
    return Card(
        text="afterlaunch commands", blocks=[b.header("afterlaunch"), b.section(render("help.md.j2", commands=lines))]
    )


def status_card(services: Services, request: CommandRequest) -> Card:
    now = request.now
    end = int(now.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        hour = rollups.list_cohorts(session=session, start=end - 3600, end=end, where=request.tenant_scope.where())
        pending = session.exec(select(func.count()).where(OutboxMessage.status == "pending")).one()
        failed = session.exec(
            select(func.count()).where(
                OutboxMessage.status == "failed", OutboxMessage.created_at >= now - timedelta(days=1)
            )
        ).one()
    totals = hour[0].totals if hour else {"requests": 0, "cost_usd": 0.0, "errors": 0}
    text = render(
        "status.md.j2",
        database=services.db.engine.dialect.name,
        mode="local" if services.settings.local_mode else "Slack",
        requests=int(totals["requests"]),
        cost=totals["cost_usd"],
        errors=int(totals["errors"]),
        pending=pending,
        failed=failed,
    )
    return Card(text="afterlaunch status", blocks=[b.header("afterlaunch status"), b.section(text)])


def handle(services: Services, request: CommandRequest) -> CommandReply:
    from bot.slack.commands import all_commands

    word = request.text.strip().split(" ", 1)[0].lower()
    if word in ("", "help"):
        return CommandReply(card=help_card(all_commands()))
    if word == "status":
        return CommandReply(card=status_card(services, request))
    raise UserError(f"unknown subcommand '{word}'. Try `/afterlaunch help`.")


COMMAND = SlashCommand(
    name="/afterlaunch",
    description="What afterlaunch can do, and whether it is healthy",
    usage_hint="[help | status]",
    handler=handle,
)
