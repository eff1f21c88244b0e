"""The outbox: every card is stored before it is sent, so none is lost on a crash.

Messages of one channel leave in the order they were stored; an update waits
for the post it updates. A sender claims a message with a short lease, so a
replica that dies mid-send leaves it to the next sender instead of losing it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from storage.dialect import upsert_insert
from storage.models import HomeViewer, OutboxMessage, SlackCard, SlackDedupe

CLAIM_SECONDS = 30


def enqueue(
    *,
    session: Session,
    kind: str,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    card_key: str | None = None,
    thread_key: str | None = None,
    user: str | None = None,
) -> OutboxMessage:
    """Store a message to say: ``post``, ``update`` (of ``card_key``), ``ephemeral``, ``dm`` or ``home``."""
    msg = OutboxMessage(
        created_at=now,
        kind=kind,
        channel=channel,
        user=user,
        card_key=card_key,
        thread_key=thread_key,
        payload=orjson.dumps(payload).decode(),
        status="pending",
        next_attempt_at=now,
    )
    session.add(msg)
    session.flush()
    return msg


def list_messages(*, session: Session, limit: int = 50, after_id: int = 0) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.id > after_id).order_by(col(OutboxMessage.id).desc()).limit(limit)
    return list(reversed(list(session.exec(stmt))))


def next_per_channel(*, session: Session, now: datetime, limit: int = 200) -> list[OutboxMessage]:
    """The oldest pending message of each channel, when it is due and not claimed by a live sender."""
    pending = session.exec(
        select(OutboxMessage).where(OutboxMessage.status == "pending").order_by(col(OutboxMessage.id)).limit(limit)
    )
    seen: set[str] = set()
    ready = []
    for msg in pending:
        if msg.channel in seen:
            continue
        seen.add(msg.channel)
        due = msg.next_attempt_at is None or msg.next_attempt_at <= now
        free = msg.claimed_until is None or msg.claimed_until <= now
        if due and free:
            ready.append(msg)
    return ready


def claim(*, session: Session, message_id: int, now: datetime) -> bool:
    """Take a message for sending; False when another sender holds it."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            OutboxMessage.status == "pending",
            or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) <= now),
        )
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    return result.rowcount == 1


def supersede_updates(*, session: Session, message: OutboxMessage) -> OutboxMessage:
    """When several updates of one card wait, only the newest needs sending."""
    if message.kind != "update" or message.card_key is None:
        return message
    newer = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.kind == "update",
            OutboxMessage.card_key == message.card_key,
            col(OutboxMessage.id) > message.id,
        )
        .order_by(col(OutboxMessage.id))
    ).all()
    if not newer:
        return message
    message.payload = newer[-1].payload
    for m in newer:
        m.status = "superseded"
        session.add(m)
    session.add(message)
    return message


def mark_sent(*, session: Session, message: OutboxMessage, now: datetime, ts: str | None) -> None:
    message.status = "sent"
    message.sent_at = now
    message.slack_ts = ts
    message.claimed_until = None
    message.attempts += 1
    message.error = None
    session.add(message)


def mark_retry(*, session: Session, message: OutboxMessage, at: datetime, error: str) -> None:
    message.attempts += 1
    message.next_attempt_at = at
    message.claimed_until = None
    message.error = error[:500]
    session.add(message)


def mark_failed(*, session: Session, message: OutboxMessage, now: datetime, error: str) -> None:
    message.status = "failed"
    message.attempts += 1
    message.claimed_until = None
    message.error = error[:500]
    session.add(message)


def get_card(*, session: Session, card_key: str) -> SlackCard | None:
    return session.get(SlackCard, card_key)


def save_card(*, session: Session, card_key: str, channel: str, ts: str, now: datetime) -> None:
    card = session.get(SlackCard, card_key)
    if card is None:
        session.add(SlackCard(card_key=card_key, channel=channel, ts=ts, created_at=now, updated_at=now))
    else:
        card.updated_at = now
        session.add(card)


def first_time(*, session: Session, key: str, now: datetime, window: timedelta | None = None) -> bool:
    """Record a delivery key; False when it was seen before (within ``window``, when given).

    One atomic statement, so two replicas handling the same retry cannot both win.
    """
    conn = session.connection()
    table = SlackDedupe.__table__
    stmt = upsert_insert(conn, table).values(key=key, created_at=now)
    if window is None:
        stmt = stmt.on_conflict_do_nothing()
    else:
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"created_at": stmt.excluded.created_at},
            where=table.c.created_at < now - window,
        )
    # RETURNING rather than rowcount: drivers do not all report rowcount for upserts.
    return conn.execute(stmt.returning(table.c.key)).first() is not None


def purge_dedupe(*, session: Session, before: datetime) -> int:
    return session.execute(delete(SlackDedupe).where(col(SlackDedupe.created_at) < before)).rowcount or 0


def record_home_viewer(*, session: Session, user_id: str, now: datetime) -> None:
    viewer = session.get(HomeViewer, user_id)
    if viewer is None:
        session.add(HomeViewer(user_id=user_id, opened_at=now))
    else:
        viewer.opened_at = now
        session.add(viewer)


def list_home_viewers(*, session: Session, since: datetime) -> list[str]:
    return list(session.exec(select(HomeViewer.user_id).where(col(HomeViewer.opened_at) >= since)))
