"""``/alerts``, ``/incident`` and ``/oncall``: parse, check access, call the plain functions, render."""

from __future__ import annotations

import threading

from bot.access import AccessChecker, slack_group_members
from bot.alerts.routing import mention
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.errors import UserError
from bot.incidents import alerts_view, export, service
from bot.incidents.config import incidents_config
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand, Upload

RESPONDERS = "responders"
_checkers: dict[int, AccessChecker] = {}
_lock = threading.Lock()

INCIDENT_USAGE = (
    "Usage: /incident declare <title> [sev1|sev2|sev3] · status [ID] <text> · role commander|communications @user [ID]"
    " · attach <alert id> [ID] · mitigated [ID] · resolve [ID] · export [ID] [--format md|json] · list"
)


def checker(services: Services) -> AccessChecker:
    """One access checker per service, resolving user groups through Slack (none in local mode)."""
    with _lock:
        found = _checkers.get(id(services))
        if found is None or found.services is not services:
            members = None
            if not services.settings.local_mode:
                from bot.slack.client import web_client

                members = slack_group_members(web_client(services.settings))
            found = _checkers[id(services)] = AccessChecker(services, members)
        return found


def require_responder(services: Services, user: str) -> None:
    """Changing an incident needs the 'responders' access when the [access] table names responders."""
    if RESPONDERS in services.settings.file.access:
        checker(services).require(user, RESPONDERS)


def handle_alerts(services: Services, request: CommandRequest) -> CommandReply:
    """``/alerts [open|mine|all] [tenant=…] [severity=…]``, or ``/alerts stats``."""
    if request.text.strip().lower() == "stats":
        return CommandReply(card=alerts_view.stats_card(services, request.now))
    query = alerts_view.scoped(services, alerts_view.parse(request.text), request.channel_id)
    return CommandReply(card=alerts_view.alerts_card(services, query, request.user_id, request.now))


def _incident_id(services: Services, request: CommandRequest, words: list[str]) -> int:
    """The incident a subcommand is about: a leading id, else the incident whose channel this is."""
    if words and words[0].lstrip("#").isdigit():
        return int(words.pop(0).lstrip("#"))
    found = service.incident_for_channel(services, request.channel_id)
    if found is None:
        raise UserError("run this in the incident's channel, or give the incident id first")
    return found


def _say(text: str) -> Card:
    return Card(text=text, blocks=[b.section(text)])


def handle_incident(services: Services, request: CommandRequest) -> CommandReply:
    """``/incident declare|status|role|mitigated|resolve|export|list``."""
    sub, _, rest = request.text.strip().partition(" ")
    sub = sub.lower()
    words = rest.split()
    user, now = request.user_id, request.now
    if sub in ("", "help"):
        return CommandReply(card=_say(INCIDENT_USAGE))
    if sub == "list":
        tenant = services.settings.file.channels.tenant_channels.get(request.channel_id)
        return CommandReply(card=_say(open_incidents_text(services, tenant=tenant)))
    if sub == "export":
        fmt = "md"
        if "--format" in words:
            at = words.index("--format")
            fmt = words[at + 1] if at + 1 < len(words) else ""
            del words[at : at + 2]
        incident_id = _incident_id(services, request, words)
        draft = export.postmortem(services, incident_id, now, fmt)
        name = f"postmortem-incident-{incident_id}.{fmt}"
        return CommandReply(
            card=_say(f"Postmortem draft for incident {incident_id} attached ({name})."),
            uploads=[Upload(filename=name, content=draft.encode(), title=name)],
        )
    if sub not in ("declare", "status", "role", "mitigated", "resolve", "attach"):
        raise UserError(f"unknown subcommand {sub[:20]!r}. {INCIDENT_USAGE}")
    require_responder(services, user)
    if sub == "declare":
        title, severity = service.parse_declare(rest, incidents_config(services).default_severity)
        members = checker(services).members_of
        incident = service.declare(
            services,
            title=title,
            severity=severity,
            user=user,
            now=now,
            origin_channel=request.channel_id,
            members_of=members,
        )
        return CommandReply(
            card=_say(f"{severity.upper()} incident {incident.id} declared: #{incident.channel_name}"), in_channel=True
        )
    if sub == "role":
        if not words or words[0] not in ("commander", "communications"):
            raise UserError("usage: /incident role commander|communications @user [ID]")
        role = words.pop(0)
        person = words.pop(0) if words else ""
        person = person.removeprefix("<@").split("|")[0].removesuffix(">")
        incident_id = _incident_id(services, request, words)
        service.assign_role(services, incident_id, role, person, user, now)
        return CommandReply(card=_say(f"{mention(person)} is now {role} of incident {incident_id}."))
    if sub == "attach":
        if not words or not words[0].isdigit():
            raise UserError("usage: /incident attach <alert id> [incident ID]")
        alert_id = int(words.pop(0))
        incident_id = _incident_id(services, request, words)
        service.attach_alert(services, incident_id, alert_id, now)
        return CommandReply(card=_say(f"Alert {alert_id} is now part of incident {incident_id}."))
    incident_id = _incident_id(services, request, words)
    if sub == "status":
        service.post_status(services, incident_id, user, " ".join(words), now)
        return CommandReply(card=_say(f"Update posted to incident {incident_id}."))
    if sub == "mitigated":
        service.mark_mitigated(services, incident_id, user, now)
        return CommandReply(card=_say(f"Incident {incident_id} marked mitigated."))
    service.resolve(services, incident_id, user, now)
    return CommandReply(card=_say(f"Incident {incident_id} resolved. Its channel stays until someone archives it."))


def open_incidents_text(services: Services, tenant: str | None = None) -> str:
    """One line per open incident (for /incident list and the handoff message); a tenant's channel sees its own."""
    from storage import incidents as store

    with services.db.session() as session:
        found = [i for i in store.list_open_incidents(session=session) if tenant is None or i.tenant == tenant]
    if not found:
        return "No open incidents."
    return "\n".join(f"• {i.severity.upper()} {i.id}: {i.title} (#{i.channel_name})" for i in found)


ALERTS = SlashCommand(
    name="/alerts",
    description="Open alert cards grouped by incident, with Ack buttons",
    usage_hint="[open|mine|all] [tenant=…] [severity=…] | stats",
    handler=handle_alerts,
)
INCIDENT = SlashCommand(
    name="/incident",
    description="Declare and run an incident: channel, roles, updates, postmortem",
    usage_hint="declare <title> [sev1|sev2|sev3] | status <text> | role … | resolve | export",
    handler=handle_incident,
)
