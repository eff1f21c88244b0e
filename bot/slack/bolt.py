"""The Bolt app: listeners are thin (ack, parse, call a plain function, reply).

Built per service instance (never at import time). Slash commands come from the
registry; installed capabilities register their interactive listeners
(``Capability.listeners``, read by ``interaction_registrars``). A listener acks and does only quick work (a
database write, views.open); anything slow runs in Bolt's lazy listeners after
the ack, so Slack's 3-second limit is never at risk.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import orjson
from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_sdk import WebClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.access import AccessChecker, slack_group_members
from bot.errors import problem_of
from bot.services import Services
from bot.slack import home
from bot.slack.ackfirst import AckFirst, WorkAfterAck
from bot.slack.client import web_client
from bot.slack.commands import all_commands
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand, error_card, run_command
from storage import outbox as store

log = logging.getLogger(__name__)

DOUBLE_CLICK_WINDOW = timedelta(seconds=10)
LAZY_WORKERS = 4
DISPATCH_THREADS = 8
"""Requests dispatched at once. More threads than cores only take turns on the interpreter, so
every ack of a burst finishes late; a few keep acks close to first come, first served while
a listener that waits on Slack (views.open) does not hold up the rest."""


def delivery_key(body: dict[str, Any]) -> tuple[str, timedelta | None] | None:
    """The identity of a Slack delivery, for acting once: an event's id (Slack retries
    resend it), or a click on one button of one message (a double click repeats it)."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}", None
    if body.get("type") == "block_actions":
        action = (body.get("actions") or [{}])[0]
        where = (body.get("container") or {}).get("message_ts") or (body.get("view") or {}).get("id", "")
        key = f"click:{body.get('user', {}).get('id')}:{where}:{action.get('action_id')}:{action.get('value', '')}"
        return key[:255], DOUBLE_CLICK_WINDOW
    if body.get("type") == "view_submission":
        # The submitted values belong to the key: after a validation error the same
        # view (same id and hash) comes back with corrected values, and must count.
        view = body.get("view") or {}
        values = hashlib.sha256(orjson.dumps(view.get("state") or {}, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
        return f"submit:{view.get('id')}:{view.get('hash', '')}:{values}"[:255], None
    return None


def reply(respond: Respond, result: CommandReply) -> None:
    message = result.card.to_message()
    respond(
        text=message["text"],
        blocks=message.get("blocks"),
        response_type="in_channel" if result.in_channel else "ephemeral",
        replace_original=False,
    )


def upload(client: WebClient, channel: str, result: CommandReply) -> None:
    for file in result.uploads:
        client.files_upload_v2(channel=channel, content=file.content, filename=file.filename, title=file.title)


def register_commands(app: App, services: Services, commands: list[SlashCommand]) -> None:
    for spec in commands:
        app.command(spec.name)(ack=_ack_now, lazy=[_command_worker(services, spec)])


def _ack_now(ack: Ack) -> None:
    ack()


def _command_worker(services: Services, spec: SlashCommand) -> Callable[..., None]:
    """The work after the ack. Bolt injects listener arguments by name, hence a closure
    rather than a default argument (``command`` is one of Bolt's names)."""

    def work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        request = CommandRequest(
            command=spec.name,
            text=body.get("text", ""),
            user_id=body.get("user_id", ""),
            channel_id=body.get("channel_id", ""),
            now=datetime.now(UTC),
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
        )
        result = run_command(services, spec, request)
        try:
            reply(respond, result)
            if result.uploads:
                upload(client, request.channel_id, result)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("could not answer %s (ref %s)", spec.name, ref)
            respond(text=f"{spec.name} could not post its answer (ref {ref}).", response_type="ephemeral")

    work.__name__ = f"run_{spec.name.strip('/')}"
    return work


def register_events(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            home.open_home(services, event["user"], datetime.now(UTC))

    @app.action(home.REFRESH_ACTION)
    def refresh_clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        home.open_home(services, body["user"]["id"], datetime.now(UTC))


Registrar = Callable[[App, Services, AccessChecker], None]


def interaction_registrars() -> list[Registrar]:
    """The buttons, modals and shortcuts of every installed capability (``Capability.listeners``)."""
    from bot.capabilities import installed

    return [register for capability in installed() for register in capability.listeners]


def create_bolt_app(
    services: Services,
    *,
    commands: list[SlashCommand] | None = None,
    registrars: list[Registrar] | None = None,
    gate: AckFirst | None = None,
) -> App:
    settings = services.settings
    if settings.slack_bot_token is None:
        raise RuntimeError("local mode: no Slack app without SLACK_BOT_TOKEN")
    app = App(
        client=web_client(settings),
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        token_verification_enabled=False,
        # Listeners run in the request's thread and the response goes out when they
        # return; slow work belongs in lazy listeners (started after the ack).
        # This avoids Bolt's 10 ms ack-polling loop on every request.
        process_before_response=True,
        logger=logging.getLogger("afterlaunch.bolt"),
        # Work after the ack shares the interpreter with the acks of other requests: a
        # small pool whose jobs wait for the acks in flight keeps a burst of commands
        # from delaying the acks.
        listener_executor=WorkAfterAck(gate or AckFirst(), max_workers=LAZY_WORKERS),
    )

    @app.middleware
    def act_once(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        key = delivery_key(body)
        if key is not None:
            with services.db.write_session() as session:
                first = store.first_time(session=session, key=key[0], now=datetime.now(UTC), window=key[1])
            if not first:
                log.info("ignored a repeated Slack delivery (%s)", key[0].split(":", 1)[0])
                return BoltResponse(status=200, body="")
        return next()

    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Respond | None = None) -> None:
        message = problem_of(error, where="That action").message
        if respond is not None and body.get("response_url"):
            card = error_card(message).to_message()
            respond(text=card["text"], blocks=card.get("blocks"), response_type="ephemeral", replace_original=False)

    register_commands(app, services, commands if commands is not None else all_commands())
    register_events(app, services)
    access = AccessChecker(services, slack_group_members(app.client))
    for register in registrars if registrars is not None else interaction_registrars():
        register(app, services, access)
    return app


def slack_routes(services: Services) -> list[Route]:
    """``POST /slack/events``: every slash command, interaction and event arrives here."""
    gate = AckFirst()
    bolt = None if services.settings.local_mode else create_bolt_app(services, gate=gate)
    dispatchers = anyio.CapacityLimiter(DISPATCH_THREADS)

    async def endpoint(request: Request) -> Response:
        if bolt is None:
            message = "local mode: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to receive Slack requests"
            return JSONResponse({"error": "slack_not_configured", "message": message}, status_code=503)
        body = (await request.body()).decode("utf-8", errors="replace")
        bolt_request = BoltRequest(body=body, query=request.query_params, headers=request.headers)  # type: ignore[arg-type]
        with gate.acking():
            result: BoltResponse = await anyio.to_thread.run_sync(bolt.dispatch, bolt_request, limiter=dispatchers)
        return Response(result.body, status_code=result.status, headers=result.first_headers_without_set_cookie())

    return [Route("/slack/events", endpoint, methods=["POST"])]
