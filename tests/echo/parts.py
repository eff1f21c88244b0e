"""The parts of the test capability, each as small as the real ones' shapes allow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import click
from pydantic import BaseModel, ConfigDict, Field
from slack_bolt import Ack, App, Respond
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.access import AccessChecker
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.detectors import Finding
from bot.http import json_response
from bot.scheduler import Job
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand
from storage import rollups

ACK_ACTION = "echo_ack"
TICKS: list[datetime] = []
"""When the job ran: the memory a job may keep and a detector may not."""


class EchoConfig(BaseModel):
    """``[echo]``: how many errors in ten minutes make a tenant's finding."""

    model_config = ConfigDict(extra="forbid")
    min_errors: int = Field(default=3, ge=1)


def detect_errors(services: Services, now: datetime) -> list[Finding]:
    """A finding per tenant with ``[echo].min_errors`` errors or more in the last ten minutes."""
    end = int(now.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        tenants = rollups.list_cohorts(session=session, start=end - 600, end=end, group_by=["tenant"])
    out = []
    for t in tenants:
        errors = int(t.totals["errors"])
        if errors >= services.settings.file.echo.min_errors:
            tenant = t.cohort["tenant"]
            out.append(
                Finding(
                    detector="echo_errors",
                    key=f"echo_errors:tenant={tenant}",
                    status="firing",
                    severity="medium",
                    title=f"Errors on {tenant}",
                    summary=f"{errors} errors in ten minutes.",
                    labels={"tenant": tenant},
                    started_at=now - timedelta(minutes=10),
                    figures=[("errors", str(errors))],
                    cause="error_burst",
                    runbook="generic",
                )
            )
    return out


def tick(services: Services, now: datetime) -> None:
    TICKS.append(now)


TICK = Job(id="echo_tick", run=tick, trigger="interval", trigger_args={"minutes": 10})


def echo_command(services: Services, request: CommandRequest) -> CommandReply:
    text = request.text.strip() or "hello"
    card = Card(
        text=f"echo: {text}",
        blocks=[b.section(f"echo: {text}"), b.actions(b.button("Acknowledge", ACK_ACTION, value=text[:100]))],
    )
    return CommandReply(card=card)


COMMAND = SlashCommand(name="/echo", description="Say it back with a button", usage_hint="[text]", handler=echo_command)


def register(app: App, services: Services, access: AccessChecker) -> None:
    @app.action(ACK_ACTION)
    def acknowledged(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        action = body["actions"][0]
        respond(text=f"acknowledged {action['value']} by {body['user']['id']}", replace_original=False)


def home_section(services: Services, now: datetime) -> list[dict[str, Any]]:
    return [b.header("Echo"), b.section(f"echo min errors: {services.settings.file.echo.min_errors}")]


async def ping(request: Request) -> Response:
    return json_response({"pong": True, "capability": "echo"})


ROUTES = [Route("/echo/ping", ping, methods=["GET"])]


@click.command("echo")
@click.argument("words", nargs=-1)
def echo(words: tuple[str, ...]) -> None:
    """Say the words back (a capability's own CLI command)."""
    click.echo("echo: " + " ".join(words))
