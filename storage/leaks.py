"""Leak storage: canaries (hashed), document ownership learned from traffic, scan hits, the version row."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from storage.dialect import upsert_insert
from storage.leaks_models import LeakCanary, LeakDocOwner, LeakHit

CANARY_PREFIX = "alcn"
"""Every canary starts with this, so the scan finds candidates with the same automaton as identifiers."""
CANARY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
"""Lower case without look-alikes: matching is case-insensitive and people copy canaries by hand."""
CANARY_BODY = 24
CANARY_LENGTH = len(CANARY_PREFIX) + CANARY_BODY
HIT_COLUMNS = tuple(c.name for c in LeakHit.__table__.columns if c.name != "id")


def hash_canary(raw: str) -> str:
    # 120 random bits: a plain hash is enough, as for API keys.
    return hashlib.sha256(raw.lower().encode()).hexdigest()


def bump_version(conn: Connection) -> None:
    """Tell every ingesting process that the fingerprints changed."""
    # An upsert, so a truncated table (tests, a restore) heals itself instead of losing the bump.
    conn.execute(
        text(
            "INSERT INTO leak_state (id, version) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET version = leak_state.version + 1"
        )
    )


def get_version(conn: Connection) -> int:
    # Driver SQL: this runs once per ingested batch, and SQLAlchemy's statement handling cost more than the query.
    return int(conn.exec_driver_sql("SELECT version FROM leak_state WHERE id = 1").scalar() or 0)


def create_canaries(*, session: Session, tenant: str, count: int, now: datetime) -> list[str]:
    """New canaries for ``tenant``; the raw strings are returned once and never stored."""
    raws = []
    for _ in range(count):
        raw = CANARY_PREFIX + "".join(secrets.choice(CANARY_ALPHABET) for _ in range(CANARY_BODY))
        session.add(LeakCanary(tenant=tenant, prefix=raw[:10], canary_hash=hash_canary(raw), created_at=now))
        raws.append(raw)
    session.flush()
    bump_version(session.connection())
    return raws


def list_canaries(*, session: Session) -> list[LeakCanary]:
    return list(session.exec(select(LeakCanary).order_by(LeakCanary.id)))


def revoke_canary(*, session: Session, canary_id: int, now: datetime) -> LeakCanary | None:
    canary = session.get(LeakCanary, canary_id)
    if canary is not None and canary.revoked_at is None:
        canary.revoked_at = now
        session.add(canary)
        session.flush()
        bump_version(session.connection())
    return canary


@dataclass(frozen=True)
class StoredFingerprints:
    version: int
    canaries: dict[str, str]
    """Hash of an active canary -> its tenant."""
    owners: dict[str, str]
    """doc_id -> owner learned from traffic ('' when several tenants were served it first)."""


def load_fingerprints(conn: Connection) -> StoredFingerprints:
    """Everything the scan needs from the database, read in one go when the version moved."""
    version = get_version(conn)
    canaries = dict(conn.execute(text("SELECT canary_hash, tenant FROM leak_canaries WHERE revoked_at IS NULL")).all())
    owners = dict(conn.execute(text("SELECT doc_id, tenant FROM leak_doc_owners")).all())
    return StoredFingerprints(version=version, canaries=canaries, owners=owners)


def _marks(conn: Connection, n: int) -> str:
    return ", ".join(["?" if conn.dialect.name == "sqlite" else "%s"] * n)


def add_doc_days(conn: Connection, counts: dict[tuple[str, str, int], int]) -> None:
    """Add served counts per (doc_id, tenant, UTC day); additive, so concurrent writers never lose one."""
    if not counts:
        return
    # Driver SQL: this runs with most batches until every document is settled.
    conn.exec_driver_sql(
        f"INSERT INTO leak_doc_days (doc_id, tenant, day, n) VALUES ({_marks(conn, 4)}) "
        "ON CONFLICT (doc_id, tenant, day) DO UPDATE SET n = leak_doc_days.n + excluded.n",
        [(d, t, day, n) for (d, t, day), n in counts.items()],
    )


def settle_owners(
    conn: Connection, doc_ids: Iterable[str], *, min_requests: int, min_days: int, now: datetime
) -> dict[str, str]:
    """Decide what the counts now prove about ``doc_ids``: one owner, shared, or not yet; returns the decided ones.

    A document served to two tenants before it was owned is shared for good; one served to a
    single tenant often enough on enough dates is that tenant's. Decided documents stop being counted.
    """
    ids = sorted(set(doc_ids))
    per_doc: dict[str, list[tuple[str, int, int]]] = {}
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        rows = conn.exec_driver_sql(
            "SELECT doc_id, tenant, sum(n), count(day) FROM leak_doc_days "
            f"WHERE doc_id IN ({_marks(conn, len(chunk))}) GROUP BY doc_id, tenant",
            tuple(chunk),
        ).all()
        for doc_id, tenant, n, days in rows:
            per_doc.setdefault(doc_id, []).append((tenant, int(n), int(days)))
    decided: dict[str, tuple[str, int, int]] = {}
    for doc_id, tenants in per_doc.items():
        if len(tenants) > 1:
            decided[doc_id] = ("", sum(t[1] for t in tenants), max(t[2] for t in tenants))
        elif tenants[0][1] >= min_requests and tenants[0][2] >= min_days:
            decided[doc_id] = tenants[0]
    if not decided:
        return {}
    table = LeakDocOwner.__table__
    conn.execute(
        upsert_insert(conn, table).on_conflict_do_nothing(index_elements=["doc_id"]),
        [{"doc_id": d, "tenant": t, "requests": n, "days": days, "since": now} for d, (t, n, days) in decided.items()],
    )
    conn.exec_driver_sql(f"DELETE FROM leak_doc_days WHERE doc_id = {_marks(conn, 1)}", [(d,) for d in decided])
    bump_version(conn)
    return {d: t for d, (t, _, _) in decided.items()}


def insert_hits(conn: Connection, hits: Sequence[dict[str, Any]]) -> None:
    if hits:
        conn.execute(LeakHit.__table__.insert(), list(hits))


def list_hits(*, session: Session, since_ms: int, until_ms: int) -> list[LeakHit]:
    """Hits received in [since_ms, until_ms], oldest first."""
    return list(
        session.exec(
            select(LeakHit)
            .where(LeakHit.received_ms >= since_ms, LeakHit.received_ms <= until_ms)
            .order_by(LeakHit.received_ms, LeakHit.id)  # type: ignore[arg-type]
        )
    )


def list_owners(*, session: Session) -> list[LeakDocOwner]:
    return list(session.exec(select(LeakDocOwner).where(LeakDocOwner.tenant != "").order_by(LeakDocOwner.doc_id)))
