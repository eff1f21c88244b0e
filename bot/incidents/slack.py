"""Incident buttons and the pin reaction in Slack: thin listeners (ack, parse, call bot.incidents.service)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.access import AccessChecker
from bot.errors import UserError
from bot.incidents import export, service
from bot.incidents.command import RESPONDERS
from bot.services import Services
from storage import alerts as alert_store


def _value(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    action = (body.get("actions") or [{}])[0]
    return (body.get("user") or {}).get("id", ""), action


def _ref(value: str) -> int:
    if not value.isdigit():
        raise UserError(f"this button does not name an incident or alert ({value[:40]!r}); refresh the card")
    return int(value)


def _tell(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def register(app: App, services: Services, access: AccessChecker) -> None:
    """Declare incident (on any card), role pickers, resolve, archive, export, and the pin reaction."""

    def check(user: str) -> None:
        if RESPONDERS in services.settings.file.access:
            access.require(user, RESPONDERS)

    @app.action("incident_declare")
    def declare(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        user, action = _value(body)
        check(user)
        alert_id = _ref(str(action.get("value", "")))
        with services.db.session() as session:
            alert = alert_store.get_alert(session=session, alert_id=alert_id)
        if alert is None:
            raise UserError(f"alert {alert_id} no longer exists")
        severity = service.ALERT_SEVERITY_TO_INCIDENT.get(alert.severity, "sev3")
        origin = (body.get("channel") or {}).get("id", "")
        incident = service.declare(
            services,
            title=alert.title[:150],
            severity=severity,
            user=user,
            now=datetime.now(UTC),
            alert_id=alert_id,
            origin_channel=origin,
            members_of=access.members_of,
        )
        if body.get("response_url"):
            _tell(respond, f"{severity.upper()} incident {incident.id} declared: #{incident.channel_name}")

    def role_listener(role: str) -> None:
        @app.action(f"incident_role_{role}")
        def assign(ack: Ack, body: dict[str, Any]) -> None:
            ack()
            user, action = _value(body)
            check(user)
            block = str(action.get("block_id", ""))
            incident_id = _ref(block.partition(":")[2])
            person = str(action.get("selected_user") or "")
            service.assign_role(services, incident_id, role, person, user, datetime.now(UTC))

    role_listener("commander")
    role_listener("communications")

    @app.action("incident_resolve")
    def resolve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, action = _value(body)
        check(user)
        service.resolve(services, _ref(str(action.get("value", ""))), user, datetime.now(UTC))

    @app.action("incident_archive")
    def archive(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, action = _value(body)
        check(user)
        service.archive(services, _ref(str(action.get("value", ""))), user, datetime.now(UTC))

    @app.action("incident_export")
    def export_draft(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _, action = _value(body)
        incident_id = _ref(str(action.get("value", "")))
        draft = export.postmortem(services, incident_id, datetime.now(UTC), "md")
        channel = (body.get("channel") or {}).get("id", "")
        name = f"postmortem-incident-{incident_id}.md"
        client.files_upload_v2(channel=channel, content=draft.encode(), filename=name, title=name)

    @app.event("reaction_added")
    def reaction(event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message":
            return
        service.record_pin(
            services,
            str(item.get("channel", "")),
            str(item.get("ts", "")),
            str(event.get("user", "")),
            str(event.get("reaction", "")),
            datetime.now(UTC),
        )
