"""The triage card's buttons in Slack: thin listeners (ack, parse, call bot.alerts.actions, reply)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.access import AccessChecker
from bot.alerts import actions
from bot.errors import AfterlaunchError
from bot.services import Services

CAPABILITY = "responders"
log = logging.getLogger(__name__)


def _clicked(body: dict[str, Any]) -> tuple[str, str]:
    """(user id, the clicked element's value or selected option)."""
    action = (body.get("actions") or [{}])[0]
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    return (body.get("user") or {}).get("id", ""), str(value)


def _check(services: Services, access: AccessChecker, user: str) -> None:
    """State changes need the 'responders' access when the [access] table names any responders."""
    if CAPABILITY in services.settings.file.access:
        access.require(user, CAPABILITY)


def _ack_now(ack: Ack) -> None:
    ack()


def register(app: App, services: Services, access: AccessChecker) -> None:
    """Acknowledge, Resolve, Silence, Runbook and Show requests on every triage card."""

    def after_ack(change: Callable[[str, str], object]) -> Callable[..., None]:
        """The state change runs after the ack (a click is answered at once, however many arrive);
        a refusal still reaches the person who clicked."""

        def work(body: dict[str, Any], respond: Respond) -> None:
            user, value = _clicked(body)
            try:
                _check(services, access, user)
                change(user, value)
            except AfterlaunchError as exc:
                if body.get("response_url"):
                    respond(text=exc.message, response_type="ephemeral", replace_original=False)
            except Exception:
                ref = uuid.uuid4().hex[:8]
                log.exception("alert button failed (ref %s)", ref)
                if body.get("response_url"):
                    respond(
                        text=f"Something went wrong on our side (ref {ref}).",
                        response_type="ephemeral",
                        replace_original=False,
                    )

        return work

    def ack_change(user: str, value: str) -> None:
        actions.acknowledge(services, actions.parse_alert_ref(value), user, datetime.now(UTC))

    def resolve_change(user: str, value: str) -> None:
        actions.resolve(services, actions.parse_alert_ref(value), user, datetime.now(UTC))

    def silence_change(user: str, value: str) -> None:
        choice = value.split(":", 1)[1] if ":" in value else ""
        actions.silence(services, actions.parse_alert_ref(value), user, choice, datetime.now(UTC))

    app.action("alert_ack")(ack=_ack_now, lazy=[after_ack(ack_change)])
    app.action("alert_resolve")(ack=_ack_now, lazy=[after_ack(resolve_change)])
    app.action("alert_silence")(ack=_ack_now, lazy=[after_ack(silence_change)])

    @app.action("alert_runbook")
    def alert_runbook(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _, value = _clicked(body)
        view = actions.runbook_view(services, actions.parse_alert_ref(value))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action("alert_requests")
    def alert_requests(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        _, value = _clicked(body)
        message = actions.sample_requests(services, actions.parse_alert_ref(value)).to_message()
        respond(text=message["text"], blocks=message.get("blocks"), response_type="ephemeral", replace_original=False)
