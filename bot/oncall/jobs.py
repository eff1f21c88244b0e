"""On-call jobs (run on the elected leader): refresh the calendar, announce handoffs."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.alerts.model import AlertIn
from bot.alerts.routing import mention
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.oncall import calendar as ical
from bot.oncall import schedule
from bot.scheduler import Job
from bot.services import Services
from bot.slack.post import post_card
from storage import incidents as store

log = logging.getLogger(__name__)

CARD_FINGERPRINT = "afterlaunch:oncall-calendar"
HANDOFF_KEY = "handoff"


def _card(status: str, message: str, now: datetime, since: datetime) -> AlertIn:
    return AlertIn(
        source="afterlaunch",
        fingerprint=CARD_FINGERPRINT,
        status=status,  # type: ignore[arg-type]
        title=f"On-call calendar: {message}"[:300],
        severity="medium",
        labels={"alertname": "OncallCalendar", "detector": "oncall_calendar"},
        starts_at=since,
        ends_at=now if status == "resolved" else None,
        annotations={"description": "Paging keeps following the last good schedule (or the rota) until it is fixed."},
    )


def refresh_calendar(services: Services, now: datetime) -> str:
    """Fetch and check the calendar when due; keep the last good one and raise one card when it fails."""
    from bot.alerts.service import receive

    cfg = services.settings.file.oncall
    if not cfg.calendar:
        return "no calendar"
    with services.db.session() as session:
        state = store.get_state(session=session, key=schedule.STATE_KEY) or {}
    fetched = state.get("fetched_at")
    if fetched and now - datetime.fromisoformat(fetched) < timedelta(minutes=cfg.calendar_refresh_minutes):
        return "not due"
    try:
        text = ical.fetch(cfg.calendar)
        ical.slots(ical.parse(text), now - timedelta(days=1), now + schedule.LOOKAHEAD, _zone(services))
    except ical.CalendarError as exc:
        since = state.get("error_since") or now.isoformat()
        new = {**state, "fetched_at": now.isoformat(), "error": str(exc), "error_since": since}
        with services.db.write_session() as session:
            store.put_state(session=session, key=schedule.STATE_KEY, value=new, now=now)
        log.warning("on-call calendar: %s", exc)
        receive(services, [_card("firing", str(exc), now, datetime.fromisoformat(since))], now, forward=False)
        return "failed"
    new = {"content": text, "fetched_at": now.isoformat(), "ok_at": now.isoformat(), "error": None}
    with services.db.write_session() as session:
        store.put_state(session=session, key=schedule.STATE_KEY, value=new, now=now)
    schedule.STATE.forget(services)
    if state.get("error"):
        since = datetime.fromisoformat(state.get("error_since") or now.isoformat())
        receive(services, [_card("resolved", "readable again", now, since)], now, forward=False)
    return "ok"


def _zone(services: Services) -> schedule.ZoneInfo:
    return schedule.ZoneInfo(services.settings.file.oncall.timezone)


def announce_handoff(services: Services, now: datetime) -> bool:
    """At each change of the person on call, tell ``[oncall].handoff_channel`` with the open incidents."""
    from bot.incidents.command import open_incidents_text

    cfg = services.settings.file.oncall
    current = schedule.who(services, now)
    with services.db.session() as session:
        last = (store.get_state(session=session, key=HANDOFF_KEY) or {}).get("user")
    if last == current.user:
        return False
    incidents = open_incidents_text(services)
    with services.db.write_session() as session:
        store.put_state(session=session, key=HANDOFF_KEY, value={"user": current.user}, now=now)
        if last is not None and cfg.handoff_channel:
            who = mention(current.user) if current.user else "nobody"
            text = f":arrows_counterclockwise: On call now: {who} (from {mention(last)}), by the {current.source}."
            if current.note:
                text += f"\n:warning: {current.note}"
            text += f"\n*Open incidents*\n{incidents}"
            post_card(
                session=session, channel=cfg.handoff_channel, card=Card(text=text, blocks=[b.section(text)]), now=now
            )
    services.wake_outbox.set()
    return last is not None


JOBS = [
    Job(id="oncall_calendar", run=refresh_calendar, trigger="interval", trigger_args={"minutes": 1}),
    Job(id="oncall_handoff", run=announce_handoff, trigger="interval", trigger_args={"minutes": 1}),
]
