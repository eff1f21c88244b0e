"""The outbox: every card is stored before it is sent, so none is lost on a crash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session, select

from storage.models import OutboxMessage


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
    local: bool = False,
) -> OutboxMessage:
    """Store a message to say; in local mode it is final as stored (status ``local``)."""
    msg = OutboxMessage(
        created_at=now,
        kind=kind,
        channel=channel,
        user=user,
        card_key=card_key,
        thread_key=thread_key,
        payload=orjson.dumps(payload).decode(),
        status="local" if local else "pending",
        next_attempt_at=None if local else now,
    )
    session.add(msg)
    session.flush()
    return msg


def list_messages(*, session: Session, limit: int = 50, after_id: int = 0) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.id > after_id).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(reversed(list(session.exec(stmt))))
