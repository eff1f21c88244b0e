"""Slack pacing state: the earliest moment each channel or message may be written to again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from storage.dialect import upsert_insert
from storage.models import SlackPacing


def get_pacing(*, session: Session, keys: Iterable[str]) -> dict[str, datetime]:
    """The ``next_at`` of each known key (absent keys are free now)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = session.exec(select(SlackPacing).where(col(SlackPacing.key).in_(wanted)))
    return {r.key: r.next_at for r in rows}


def push_pacing(*, session: Session, key: str, at: datetime) -> None:
    """Move a key's ``next_at`` later (never earlier): two senders cannot shorten each other's wait."""
    conn = session.connection()
    table = SlackPacing.__table__  # type: ignore[attr-defined]
    stmt = upsert_insert(conn, table).values(key=key, next_at=at)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"], set_={"next_at": stmt.excluded.next_at}, where=table.c.next_at < stmt.excluded.next_at
    )
    conn.execute(stmt)
