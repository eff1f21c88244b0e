"""Incident queries: create, lock, timeline events, cards gathered, overdue updates, shared on-call state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session, col, select

from storage.dialect import upsert_insert
from storage.incidents_models import AlertEscalation, Incident, IncidentAlert, IncidentEvent, OncallState


def create_incident(*, session: Session, incident: Incident) -> Incident:
    """Store a new incident and give it its id."""
    session.add(incident)
    session.flush()
    return incident


def get_incident(*, session: Session, incident_id: int, lock: bool = False) -> Incident | None:
    """One incident by id; ``lock`` takes its row lock for a state change."""
    stmt = select(Incident).where(col(Incident.id) == incident_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def list_open_incidents(*, session: Session) -> list[Incident]:
    """Incidents not resolved yet, oldest first."""
    return list(session.exec(select(Incident).where(Incident.status == "open").order_by(col(Incident.id))))


def add_event(
    *,
    session: Session,
    incident_id: int,
    at: datetime,
    kind: str,
    actor: str = "",
    text: str = "",
    ref: str | None = None,
) -> bool:
    """Append a timeline line; False when an event with the same ``ref`` is already there (a repeat)."""
    conn = session.connection()
    table = IncidentEvent.__table__  # type: ignore[attr-defined]
    values = {"incident_id": incident_id, "at": at, "kind": kind, "actor": actor[:64], "text": text, "ref": ref}
    stmt = upsert_insert(conn, table).values(**values).on_conflict_do_nothing()
    return conn.execute(stmt.returning(table.c.id)).first() is not None


def list_events(*, session: Session, incident_id: int) -> list[IncidentEvent]:
    """The incident's timeline in order."""
    stmt = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
    return list(session.exec(stmt.order_by(col(IncidentEvent.at), col(IncidentEvent.id))))


def attach_alert(*, session: Session, incident_id: int, alert_id: int, now: datetime) -> bool:
    """Gather a card into an incident; False when it already was."""
    conn = session.connection()
    table = IncidentAlert.__table__  # type: ignore[attr-defined]
    stmt = upsert_insert(conn, table).values(incident_id=incident_id, alert_id=alert_id, added_at=now)
    return conn.execute(stmt.on_conflict_do_nothing().returning(table.c.alert_id)).first() is not None


def list_incident_alert_ids(*, session: Session, incident_id: int) -> list[int]:
    """The cards an incident gathered."""
    stmt = select(IncidentAlert.alert_id).where(IncidentAlert.incident_id == incident_id)
    return list(session.exec(stmt.order_by(col(IncidentAlert.alert_id))))


def incidents_of_alerts(*, session: Session, alert_ids: list[int]) -> dict[int, int]:
    """alert id -> the incident it belongs to (the newest one, when several)."""
    if not alert_ids:
        return {}
    stmt = select(IncidentAlert.alert_id, IncidentAlert.incident_id).where(col(IncidentAlert.alert_id).in_(alert_ids))
    return {a: i for a, i in session.exec(stmt.order_by(col(IncidentAlert.incident_id)))}


def get_state(*, session: Session, key: str) -> dict[str, Any] | None:
    """A piece of shared on-call state (JSON), or None when never written."""
    row = session.get(OncallState, key)
    return None if row is None else orjson.loads(row.value)


def put_state(*, session: Session, key: str, value: dict[str, Any], now: datetime) -> None:
    """Write a piece of shared on-call state."""
    row = session.get(OncallState, key)
    if row is None:
        session.add(OncallState(key=key, value=orjson.dumps(value).decode(), updated_at=now))
    else:
        row.value, row.updated_at = orjson.dumps(value).decode(), now
        session.add(row)


def get_escalation_step(*, session: Session, alert_id: int) -> int:
    """How many escalation steps an alert's page has gone through."""
    row = session.get(AlertEscalation, alert_id)
    return 0 if row is None else row.step


def set_escalation_step(*, session: Session, alert_id: int, step: int, now: datetime) -> None:
    """Record that an alert's page went through ``step`` escalation steps."""
    row = session.get(AlertEscalation, alert_id)
    if row is None:
        session.add(AlertEscalation(alert_id=alert_id, step=step, updated_at=now))
    else:
        row.step, row.updated_at = step, now
        session.add(row)
