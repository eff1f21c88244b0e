"""Alert queries: get-or-create under a row lock, storm counts, digests, due escalations, open alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, text
from sqlmodel import Session, col, select

from storage.alerts_models import Alert, AlertDigest
from storage.dialect import upsert_insert


def get_alert(*, session: Session, alert_id: int, lock: bool = False) -> Alert | None:
    """One alert by id; ``lock`` takes its row lock for a state change."""
    stmt = select(Alert).where(col(Alert.id) == alert_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def get_by_fingerprint(*, session: Session, fingerprint: str, lock: bool = False) -> Alert | None:
    """One alert group by fingerprint; ``lock`` takes its row lock."""
    stmt = select(Alert).where(Alert.fingerprint == fingerprint)
    if lock:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def claim_fingerprint(*, session: Session, values: dict[str, object]) -> tuple[Alert, bool]:
    """The row of an alert group, locked, and whether this call created it.

    One atomic INSERT ... ON CONFLICT DO NOTHING: two replicas receiving the same
    alert at once (an Alertmanager HA pair) end up with one row, and the loser
    waits for the winner's commit before it reads and updates that row.
    """
    existing = get_by_fingerprint(session=session, fingerprint=str(values["fingerprint"]), lock=True)
    if existing is not None:
        return existing, False
    conn = session.connection()
    table = Alert.__table__  # type: ignore[attr-defined]
    stmt = upsert_insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=["fingerprint"])
    inserted = conn.execute(stmt.returning(table.c.id)).first()
    row = get_by_fingerprint(session=session, fingerprint=str(values["fingerprint"]), lock=True)
    if row is None:  # pragma: no cover - the conflict winner committed, so the row exists
        raise RuntimeError(f"alert {values['fingerprint']!r} vanished while being created")
    session.refresh(row)
    return row, inserted is not None


def lock_channel(*, session: Session, channel: str) -> None:
    """Serialise storm decisions for one channel across replicas (PostgreSQL; SQLite has one writer).

    Advisory locks are database-wide, so the key includes the schema.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = "hashtext(current_database() || '.' || current_schema() || '.alerts.' || :channel)"
        session.execute(text(f"SELECT pg_advisory_xact_lock({key})"), {"channel": channel})


def count_recent_cards(*, session: Session, channel: str, since: datetime) -> int:
    """Cards of their own posted to a channel since a moment: the storm detector's measure."""
    stmt = select(func.count()).where(
        Alert.channel == channel,
        col(Alert.first_seen) >= since,
        col(Alert.digest_id).is_(None),
        col(Alert.card_posted).is_(True),
    )
    return int(session.exec(stmt).one())


def find_open_digest(*, session: Session, channel: str, since: datetime) -> AlertDigest | None:
    """The channel's digest still collecting alerts (one joined it since ``since``)."""
    return session.exec(
        select(AlertDigest)
        .where(AlertDigest.channel == channel, col(AlertDigest.updated_at) >= since)
        .order_by(col(AlertDigest.id).desc())
    ).first()


def create_digest(*, session: Session, channel: str, now: datetime) -> AlertDigest:
    """Open a storm digest for a channel."""
    digest = AlertDigest(channel=channel, opened_at=now, updated_at=now)
    session.add(digest)
    session.flush()
    return digest


def get_digest(*, session: Session, digest_id: int) -> AlertDigest | None:
    """One storm digest by id."""
    return session.get(AlertDigest, digest_id)


def list_digest_alerts(*, session: Session, digest_id: int) -> list[Alert]:
    """The alerts a storm digest rolled up, oldest first."""
    return list(session.exec(select(Alert).where(Alert.digest_id == digest_id).order_by(col(Alert.id))))


def list_due_escalations(*, session: Session, paged_before: datetime, now: datetime) -> list[Alert]:
    """Paged, firing, unacknowledged, not yet escalated and not silenced: the secondary's turn."""
    stmt = (
        select(Alert)
        .where(
            Alert.status == "firing",
            col(Alert.paged_at).is_not(None),
            col(Alert.paged_at) <= paged_before,
            col(Alert.acked_at).is_(None),
            col(Alert.escalated_at).is_(None),
        )
        .order_by(col(Alert.id))
    )
    return [a for a in session.exec(stmt) if a.silenced_until is None or a.silenced_until <= now]


def list_open_alerts(*, session: Session, limit: int = 20) -> list[Alert]:
    """Firing alerts, newest first: the App Home's 'Open alerts'."""
    stmt = select(Alert).where(Alert.status == "firing").order_by(col(Alert.first_seen).desc()).limit(limit)
    return list(session.exec(stmt))


def count_open_alerts(*, session: Session) -> int:
    """How many alerts fire right now."""
    return int(session.exec(select(func.count()).where(Alert.status == "firing")).one())


def list_pagerduty_lagging(*, session: Session, severities: frozenset[str], limit: int = 200) -> list[Alert]:
    """Alerts whose last PagerDuty action differs from their state here: what the forwarder must send."""
    sent = func.coalesce(Alert.pd_sent, "")
    stmt = (
        select(Alert)
        .where(
            col(Alert.severity).in_(sorted(severities)),
            or_(
                and_(Alert.status == "firing", col(Alert.acked_at).is_(None), sent != "trigger"),
                and_(Alert.status == "firing", col(Alert.acked_at).is_not(None), sent != "acknowledge"),
                and_(Alert.status == "resolved", col(Alert.pd_sent).in_(["trigger", "acknowledge"])),
            ),
        )
        .order_by(col(Alert.id))
        .limit(limit)
    )
    return list(session.exec(stmt))
