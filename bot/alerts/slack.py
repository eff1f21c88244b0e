"""The triage card's buttons in Slack: thin listeners (ack, parse, call bot.alerts.actions, reply)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.access import AccessChecker
from bot.alerts import actions
from bot.services import Services

CAPABILITY = "responders"


def _clicked(body: dict[str, Any]) -> tuple[str, str]:
    """(user id, the clicked element's value or selected option)."""
    action = (body.get("actions") or [{}])[0]
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    return (body.get("user") or {}).get("id", ""), str(value)


def _check(services: Services, access: AccessChecker, user: str) -> None:
    """State changes need the 'responders' access when the [access] table names any responders."""
    if CAPABILITY in services.settings.file.access:
        access.require(user, CAPABILITY)


def register(app: App, services: Services, access: AccessChecker) -> None:
    """Acknowledge, Resolve, Silence, Runbook and Show requests on every triage card."""

    @app.action("alert_ack")
    def alert_ack(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, value = _clicked(body)
        _check(services, access, user)
        actions.acknowledge(services, actions.parse_alert_ref(value), user, datetime.now(UTC))

    @app.action("alert_resolve")
    def alert_resolve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, value = _clicked(body)
        _check(services, access, user)
        actions.resolve(services, actions.parse_alert_ref(value), user, datetime.now(UTC))

    @app.action("alert_silence")
    def alert_silence(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, value = _clicked(body)
        _check(services, access, user)
        choice = value.split(":", 1)[1] if ":" in value else ""
        actions.silence(services, actions.parse_alert_ref(value), user, choice, datetime.now(UTC))

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
