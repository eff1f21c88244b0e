"""An incident's timeline, gathered from where each fact is kept: its own events, its cards, the flag audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlmodel import Session, col, select

from storage import alerts as alert_store
from storage import incidents as store
from storage.alerts_models import Alert
from storage.flags_models import FlagAudit
from storage.incidents_models import Incident


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: datetime
    kind: str
    actor: str
    text: str


def incident_alerts(session: Session, incident: Incident) -> list[Alert]:
    """The cards gathered into the incident."""
    ids = store.list_incident_alert_ids(session=session, incident_id=incident.id)  # type: ignore[arg-type]
    return [a for a in (alert_store.get_alert(session=session, alert_id=i) for i in ids) if a is not None]


def window(incident: Incident, now: datetime) -> tuple[datetime, datetime]:
    """The incident window: from the first card's start to resolution (or now)."""
    return incident.started_at, incident.resolved_at or now


def _alert_entries(alerts: list[Alert]) -> list[Entry]:
    out = []
    for a in alerts:
        out.append(Entry(a.starts_at, "card_fired", a.source, f"card fired: {a.title} ({a.severity})"))
        if a.acked_at is not None:
            out.append(Entry(a.acked_at, "ack", a.acked_by or "", f"acknowledged: {a.title}"))
        ended = a.resolved_at or a.ends_at
        if a.status == "resolved" and ended is not None:
            out.append(Entry(ended, "card_resolved", a.resolved_by or a.source, f"card resolved: {a.title}"))
    return out


def _flag_entries(session: Session, start: datetime, end: datetime) -> list[Entry]:
    stmt = select(FlagAudit).where(col(FlagAudit.at) >= start, col(FlagAudit.at) <= end, FlagAudit.outcome == "done")
    out = []
    for row in session.exec(stmt.order_by(col(FlagAudit.at), col(FlagAudit.id))):
        scope = orjson.loads(row.scope or "{}")
        where = ", ".join(f"{k}={v}" for k, v in scope.items()) or "everywhere"
        text = f"kill switch {row.flag_key}: {row.action} ({where}); audit #{row.id}: {row.reason}".strip()
        out.append(Entry(row.at, "killswitch", row.actor, text))
    return out


def build(session: Session, incident: Incident, now: datetime) -> list[Entry]:
    """Every event of the incident in time order."""
    start, end = window(incident, now)
    entries = [
        Entry(e.at, e.kind, e.actor, e.text) for e in store.list_events(session=session, incident_id=incident.id)
    ]  # type: ignore[arg-type]
    entries += _alert_entries(incident_alerts(session, incident))
    entries += _flag_entries(session, start, end)
    return sorted(entries, key=lambda e: e.at)
