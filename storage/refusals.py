"""Queries of the refusal capability: scan positions, model snapshots, refusal series, samples, alarms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlmodel import Session, col

from storage.dialect import upsert_insert
from storage.models import COHORT_DIMENSIONS, LLMRequest
from storage.refusals_models import ModelSnapshot, RefusalScanState
from storage.rollups import HOUR, MINUTE

REQUESTS = LLMRequest.__table__
SNAPSHOTS = ModelSnapshot.__table__


@dataclass(frozen=True)
class ScannedRequest:
    """The columns the model-change scan needs from one stored request."""

    id: int
    tenant: str
    category: str
    provider: str
    model: str
    model_requested: str | None
    system_fingerprint: str
    ts_ms: int
    received_ms: int
    request_id: str


def get_scan_position(*, session: Session, name: str) -> int | None:
    """The last request id a scanner processed, or None before its first run."""
    state = session.get(RefusalScanState, name)
    return None if state is None else state.last_id


def set_scan_position(*, session: Session, name: str, last_id: int, now: datetime) -> None:
    """Remember how far a scanner got, in the same transaction as what it recorded."""
    state = session.get(RefusalScanState, name)
    if state is None:
        session.add(RefusalScanState(name=name, last_id=last_id, updated_at=now))
    else:
        state.last_id, state.updated_at = last_id, now
        session.add(state)


def get_max_request_id(*, session: Session) -> int:
    """The newest request id; a scanner's first position when it should not replay history."""
    return session.execute(select(func.coalesce(func.max(REQUESTS.c.id), 0))).scalar_one()


def list_requests_after(*, session: Session, after_id: int, limit: int) -> list[ScannedRequest]:
    """Requests stored after ``after_id`` in id order, at most ``limit``."""
    c = REQUESTS.c
    stmt = (
        select(
            c.id, c.tenant, c.category, c.provider, c.model, c.model_requested, c.system_fingerprint,
            c.ts_ms, c.received_ms, c.request_id,
        )
        .where(c.id > after_id)
        .order_by(c.id)
        .limit(limit)
    )  # fmt: skip
    return [
        ScannedRequest(
            id=r[0], tenant=r[1], category=r[2], provider=r[3] or "", model=r[4], model_requested=r[5],
            system_fingerprint=r[6] or "", ts_ms=r[7], received_ms=r[8], request_id=r[9],
        )
        for r in session.execute(stmt)
    ]  # fmt: skip


def list_known_triples(*, session: Session, triples: Sequence[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Which (provider, model, system_fingerprint) triples were already seen in any cohort."""
    if not triples:
        return set()
    models = sorted({t[1] for t in triples})
    stmt = (
        select(SNAPSHOTS.c.provider, SNAPSHOTS.c.model, SNAPSHOTS.c.system_fingerprint)
        .where(SNAPSHOTS.c.model.in_(models))
        .distinct()
    )
    wanted = set(triples)
    return {tuple(r) for r in session.execute(stmt) if tuple(r) in wanted}  # type: ignore[misc]


def record_snapshot(*, session: Session, values: dict[str, Any]) -> bool:
    """Add one cohort's sighting of a snapshot; True when this cohort had never been served it."""
    conn = session.connection()
    stmt = upsert_insert(conn, SNAPSHOTS).values(**values).on_conflict_do_nothing()
    # RETURNING rather than rowcount: psycopg reports -1 for upserts.
    if conn.execute(stmt.returning(SNAPSHOTS.c.id)).first() is not None:
        return True
    s = SNAPSHOTS.c
    key = and_(*(s[k] == values[k] for k in ("tenant", "category", "provider", "model", "system_fingerprint")))
    conn.execute(
        update(SNAPSHOTS)
        .where(key)
        .values(
            requests=s.requests + values["requests"],
            mismatched=s.mismatched + values["mismatched"],
            first_seen_ms=func.min(s.first_seen_ms, values["first_seen_ms"])
            if conn.dialect.name == "sqlite"
            else func.least(s.first_seen_ms, values["first_seen_ms"]),
            last_seen_ms=func.max(s.last_seen_ms, values["last_seen_ms"])
            if conn.dialect.name == "sqlite"
            else func.greatest(s.last_seen_ms, values["last_seen_ms"]),
        )
    )
    return False


def list_snapshots(
    *, session: Session, since_ms: int, until_ms: int, where: dict[str, str] | None = None
) -> list[ModelSnapshot]:
    """Snapshots first seen in [since_ms, until_ms), optionally for one tenant and/or category."""
    stmt = select(ModelSnapshot).where(
        col(ModelSnapshot.first_seen_ms) >= since_ms, col(ModelSnapshot.first_seen_ms) < until_ms
    )
    for key, value in (where or {}).items():
        if key not in ("tenant", "category"):
            raise ValueError(f"snapshots are kept per tenant and category, not per {key}")
        stmt = stmt.where(getattr(ModelSnapshot, key) == value)
    return list(session.scalars(stmt.order_by(col(ModelSnapshot.first_seen_ms))))


def list_refusal_series(
    *,
    session: Session,
    start: int,
    end: int,
    step: int,
    group_by: Sequence[str] = (),
    where: dict[str, str] | None = None,
) -> list[tuple[int, tuple[str, ...], int, int]]:
    """(bucket, cohort, requests, refusals) per ``step`` seconds over [start, end), from the rollups.

    Hour rows serve steps that are whole hours, minute rows the rest; each bucket is the start of its step.
    """
    unknown = (set(group_by) | set(where or {})) - set(COHORT_DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown cohort dimension(s): {', '.join(sorted(unknown))}")
    table = HOUR if step % 3600 == 0 and start % 3600 == 0 else MINUTE
    bucket = (table.c.bucket - table.c.bucket % step).label("b")
    dims = [table.c[d] for d in group_by]
    conds = [table.c.bucket >= start, table.c.bucket < end]
    conds += [table.c[k] == v for k, v in (where or {}).items()]
    stmt = (
        select(bucket, *dims, func.sum(table.c.requests), func.sum(table.c.refusals))
        .where(and_(*conds))
        .group_by(bucket, *dims)
        .order_by(bucket)
    )
    n = len(group_by)
    return [(int(r[0]), tuple(r[1 : 1 + n]), int(r[1 + n] or 0), int(r[2 + n] or 0)) for r in session.execute(stmt)]


def list_refused_samples(
    *, session: Session, since_ms: int, until_ms: int, where: dict[str, str], limit: int = 5
) -> list[LLMRequest]:
    """The latest refused requests of a cohort in a window: what a person reads to judge the refusals."""
    stmt = select(LLMRequest).where(
        col(LLMRequest.ts_ms) >= since_ms, col(LLMRequest.ts_ms) < until_ms, col(LLMRequest.refused).is_(True)
    )
    for key, value in where.items():
        stmt = stmt.where(getattr(LLMRequest, key) == value)
    return list(session.scalars(stmt.order_by(col(LLMRequest.ts_ms).desc()).limit(limit)))
