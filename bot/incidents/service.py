"""The incident lifecycle as plain functions: declare, status updates, roles, reminders, pins, resolve.

Listeners, commands and jobs call these; every Slack effect goes through the
outbox in the same transaction as the state change, so a crash loses neither.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.alerts.routing import primary_oncall
from bot.errors import UserError
from bot.incidents import cards, slack_out
from bot.incidents.config import SEVERITIES, incidents_config
from bot.services import Services
from bot.slack.post import post_card
from storage import alerts as alert_store
from storage import incidents as store
from storage.alerts_models import Alert
from storage.incidents_models import Incident

ALERT_SEVERITY_TO_INCIDENT = {"critical": "sev1", "high": "sev2"}
RESPONDERS = "responders"

MembersOf = Callable[[str], set[str]]


def parse_declare(text: str, default: str) -> tuple[str, str]:
    """``<title> [sev1|sev2|sev3]`` -> (title, severity); a missing title is refused with the usage."""
    words = text.split()
    severity = default
    if words and words[-1].lower() in SEVERITIES:
        severity = words.pop().lower()
    title = " ".join(words).strip()
    if not title:
        raise UserError("usage: /incident declare <title> [sev1|sev2|sev3]")
    if len(title) > 150:
        raise UserError(f"the title is {len(title)} characters; keep it under 150")
    return title, severity


def invitees(services: Services, now: datetime, declared_by: str, members_of: MembersOf | None) -> list[str]:
    """Who joins the channel: the person declaring, the on-call person and the ``responders`` group."""
    people: list[str] = [declared_by]
    entries = [primary_oncall(services.settings, now) or "", *services.settings.file.access.get(RESPONDERS, [])]
    for entry in entries:
        if entry.startswith(("U", "W")):
            people.append(entry)
        elif entry.startswith("S") and members_of is not None:
            people.extend(sorted(members_of(entry)))
    return list(dict.fromkeys(p for p in people if p))


def _runbook_text(alert: Alert | None) -> tuple[str, str]:
    if alert is None:
        return "", ""
    from bot.alerts.cards import labels_of, render_steps, runbook_for

    labels = labels_of(alert)
    found = runbook_for(labels)
    if found is None:
        return "", ""
    steps = "\n".join(f"{n}. {step}" for n, step in enumerate(render_steps(found, labels), start=1))
    return found.id, f"*{found.title}*\n{found.summary}\n\n{steps}"


def declare(
    services: Services,
    *,
    title: str,
    severity: str,
    user: str,
    now: datetime,
    alert_id: int | None = None,
    origin_channel: str = "",
    members_of: MembersOf | None = None,
) -> Incident:
    """Open an incident: its channel, people, pinned card and runbook, topic, and the stakeholders' note."""
    cfg = incidents_config(services)
    with services.db.write_session() as session:
        alert = alert_store.get_alert(session=session, alert_id=alert_id) if alert_id is not None else None
        if alert_id is not None and alert is None:
            raise UserError(f"alert {alert_id} no longer exists")
        runbook_id, runbook_body = _runbook_text(alert)
        incident = store.create_incident(
            session=session,
            incident=Incident(
                title=title,
                severity=severity,
                channel_name=slack_out.channel_name(cfg.channel_prefix, title, now),
                origin_channel=origin_channel[:80],
                tenant=alert.tenant if alert is not None else "",
                runbook=runbook_id,
                declared_by=user,
                declared_at=now,
                started_at=min(alert.starts_at, now) if alert is not None else now,
                last_update_at=now,
            ),
        )
        assert incident.id is not None
        store.add_event(
            session=session,
            incident_id=incident.id,
            at=now,
            kind="declared",
            actor=user,
            text=f"declared {severity}: {title}",
        )
        alerts = []
        if alert is not None:
            store.attach_alert(session=session, incident_id=incident.id, alert_id=alert.id, now=now)  # type: ignore[arg-type]
            alerts.append(alert)
        runbook = cards.runbook_card(incident, runbook_body) if runbook_body else None
        alert_card = None
        if alert is not None:
            from bot.alerts.cards import triage_card

            alert_card = triage_card(alert, now)
        slack_out.open_channel(
            session=session,
            incident=incident,
            invitees=invitees(services, now, user, members_of),
            card=cards.incident_card(incident, alerts),
            runbook=runbook,
            now=now,
            alert_card=alert_card,
        )
        if cfg.updates_channel:
            note = cards.line(
                f":rotating_light: {severity.upper()} incident {incident.id} declared: {title}. "
                f"Follow it in #{incident.channel_name}."
            )
            post_card(session=session, channel=cfg.updates_channel, card=note, now=now)
        session.expunge(incident)
    services.wake_outbox.set()
    return incident


def _open(session: Session, incident_id: int) -> Incident:
    incident = store.get_incident(session=session, incident_id=incident_id, lock=True)
    if incident is None:
        raise UserError(f"there is no incident {incident_id}")
    return incident


def _card(session: Session, incident: Incident) -> cards.Card:
    ids = store.list_incident_alert_ids(session=session, incident_id=incident.id)  # type: ignore[arg-type]
    alerts = [a for a in (alert_store.get_alert(session=session, alert_id=i) for i in ids) if a is not None]
    return cards.incident_card(incident, alerts)


def incident_for_channel(services: Services, channel_id: str) -> int | None:
    """The incident whose Slack channel this is (commands run there need no id)."""
    from sqlmodel import select

    from storage.models import SlackCard

    with services.db.session() as session:
        key = session.exec(
            select(SlackCard.card_key).where(
                SlackCard.channel == channel_id, SlackCard.card_key.like("incident:%:channel")
            )
        ).first()  # type: ignore[attr-defined]
    return int(key.split(":")[1]) if key else None


def post_status(services: Services, incident_id: int, user: str, update: str, now: datetime) -> Incident:
    """A status update: in the channel, in the stakeholders' channel, on the topic and the pinned card."""
    update = update.strip()
    if not update:
        raise UserError("usage: /incident status <what changed, what is next>")
    cfg = incidents_config(services)
    with services.db.write_session() as session:
        incident = _open(session, incident_id)
        if incident.status != "open":
            raise UserError(f"incident {incident_id} is resolved; updates go to open incidents")
        incident.status_line, incident.last_update_at, incident.reminded_at = update[:500], now, None
        session.add(incident)
        store.add_event(session=session, incident_id=incident_id, at=now, kind="status", actor=user, text=update)
        card = cards.update_card(incident, user, update)
        slack_out.say(session=session, incident=incident, card=card, now=now)
        if cfg.updates_channel:
            post_card(session=session, channel=cfg.updates_channel, card=card, now=now)
        slack_out.set_topic(session=session, incident=incident, now=now)
        slack_out.refresh_card(session=session, incident=incident, card=_card(session, incident), now=now)
        session.expunge(incident)
    services.wake_outbox.set()
    return incident


def assign_role(services: Services, incident_id: int, role: str, person: str, by: str, now: datetime) -> Incident:
    """Make someone commander or communications lead; the card, topic and timeline follow."""
    if role not in cards.ROLES:
        raise UserError(f"unknown role {role!r}; roles are {', '.join(cards.ROLES)}")
    if not person.startswith(("U", "W")):
        raise UserError("pick a person for the role")
    with services.db.write_session() as session:
        incident = _open(session, incident_id)
        setattr(incident, role, person)
        session.add(incident)
        store.add_event(
            session=session, incident_id=incident_id, at=now, kind="role", actor=by, text=f"{role}: {person}"
        )
        slack_out.say(session=session, incident=incident, card=cards.line(f"<@{by}> made <@{person}> {role}."), now=now)
        slack_out.set_topic(session=session, incident=incident, now=now)
        slack_out.refresh_card(session=session, incident=incident, card=_card(session, incident), now=now)
        session.expunge(incident)
    services.wake_outbox.set()
    return incident


def mark_mitigated(services: Services, incident_id: int, user: str, now: datetime) -> Incident:
    """The impact has stopped (the fix may still be coming): the postmortem's time to mitigate."""
    with services.db.write_session() as session:
        incident = _open(session, incident_id)
        if incident.mitigated_at is None:
            incident.mitigated_at = now
            session.add(incident)
            store.add_event(
                session=session, incident_id=incident_id, at=now, kind="mitigated", actor=user, text="impact mitigated"
            )
            slack_out.say(
                session=session, incident=incident, card=cards.line(f"<@{user}> marked the impact mitigated."), now=now
            )
        session.expunge(incident)
    services.wake_outbox.set()
    return incident


def resolve(services: Services, incident_id: int, user: str, now: datetime) -> Incident:
    """Close the incident; the channel stays, with a button that asks before archiving it."""
    cfg = incidents_config(services)
    with services.db.write_session() as session:
        incident = _open(session, incident_id)
        if incident.status != "open":
            raise UserError(f"incident {incident_id} is already resolved")
        incident.status, incident.resolved_at, incident.resolved_by = "resolved", now, user
        incident.mitigated_at = incident.mitigated_at or now
        session.add(incident)
        store.add_event(session=session, incident_id=incident_id, at=now, kind="resolved", actor=user, text="resolved")
        slack_out.say(session=session, incident=incident, card=cards.resolved_card(incident, user), now=now)
        slack_out.set_topic(session=session, incident=incident, now=now)
        slack_out.refresh_card(session=session, incident=incident, card=_card(session, incident), now=now)
        if cfg.updates_channel:
            note = cards.line(f":white_check_mark: Incident {incident.id} “{incident.title}” is resolved.")
            post_card(session=session, channel=cfg.updates_channel, card=note, now=now)
        session.expunge(incident)
    services.wake_outbox.set()
    return incident


def archive(services: Services, incident_id: int, user: str, now: datetime) -> None:
    """Archive the channel of a resolved incident: only after someone confirmed it."""
    with services.db.write_session() as session:
        incident = _open(session, incident_id)
        if incident.status != "resolved":
            raise UserError(f"incident {incident_id} is still open; resolve it before archiving its channel")
        store.add_event(
            session=session, incident_id=incident_id, at=now, kind="archived", actor=user, text="channel archived"
        )
        slack_out.call_api(
            session=session,
            channel=slack_out.in_channel(incident),
            method="conversations.archive",
            args={},
            now=now,
            refs={"channel": (incident.channel_key, "channel")},
        )
    services.wake_outbox.set()


def remind_overdue(services: Services, now: datetime) -> int:
    """Every minute: nudge the commander of each open incident whose status update is overdue, once per period."""
    cfg = incidents_config(services)
    sent = 0
    with services.db.write_session() as session:
        for incident in store.list_open_incidents(session=session):
            every = cfg.every(incident.severity)
            last = max(incident.last_update_at, incident.reminded_at or incident.last_update_at)
            if now - last < timedelta(minutes=every):
                continue
            minutes = int((now - incident.last_update_at).total_seconds() // 60)
            incident.reminded_at = now
            session.add(incident)
            store.add_event(
                session=session,
                incident_id=incident.id,
                at=now,
                kind="reminder",  # type: ignore[arg-type]
                text=f"status update overdue ({minutes} min since the last one)",
            )
            slack_out.say(
                session=session, incident=incident, card=cards.reminder_card(incident, minutes, every), now=now
            )
            sent += 1
    if sent:
        services.wake_outbox.set()
    return sent


def record_pin(services: Services, channel_id: str, ts: str, user: str, reaction: str, now: datetime) -> bool:
    """A message marked with the pin reaction in an incident channel joins the timeline (once)."""
    if reaction != incidents_config(services).pin_reaction:
        return False
    incident_id = incident_for_channel(services, channel_id)
    if incident_id is None:
        return False
    with services.db.write_session() as session:
        return store.add_event(
            session=session,
            incident_id=incident_id,
            at=now,
            kind="pinned",
            actor=user,
            text=f"message {ts} marked by {user}",
            ref=f"pin:{ts}",
        )


def attach_alert(services: Services, incident_id: int, alert_id: int, now: datetime) -> None:
    """Gather another card into an open incident: it joins the timeline, the card and /alerts' grouping."""
    with services.db.write_session() as session:
        incident = _open(session, incident_id)
        if incident.status != "open":
            raise UserError(f"incident {incident_id} is resolved; attach cards to open incidents")
        alert = alert_store.get_alert(session=session, alert_id=alert_id)
        if alert is None:
            raise UserError(f"there is no alert {alert_id}")
        if alert.tenant and incident.tenant and alert.tenant != incident.tenant:
            raise UserError(f"alert {alert_id} is tenant {alert.tenant}'s; this incident is tenant {incident.tenant}'s")
        store.attach_alert(session=session, incident_id=incident_id, alert_id=alert_id, now=now)
        slack_out.refresh_card(session=session, incident=incident, card=_card(session, incident), now=now)
    services.wake_outbox.set()
