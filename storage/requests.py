"""Logged requests: the bulk insert on the ingest path, lookups, and retention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.dialect import upsert_insert
from storage.models import LLMRequest, RequestBody

REQUESTS = LLMRequest.__table__
BODIES = RequestBody.__table__


def insert_requests(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert rows whose (tenant, request_id) is new; returns the new ones' database ids.

    ON CONFLICT DO NOTHING ... RETURNING reports only rows this statement
    inserted, so a concurrent writer of the same event can never make it count
    twice (PostgreSQL waits for the other transaction; SQLite writers are
    serialised by BEGIN IMMEDIATE).
    """
    if not rows:
        return {}
    stmt = (
        upsert_insert(conn, REQUESTS)
        .on_conflict_do_nothing(index_elements=["request_id", "tenant"])
        .returning(REQUESTS.c.id, REQUESTS.c.tenant, REQUESTS.c.request_id)
    )
    result = conn.execute(stmt, list(rows))
    return {(tenant, request_id): id_ for id_, tenant, request_id in result}


def insert_bodies(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(BODIES.insert(), list(rows))


def get_request(
    *, session: Session, request_id: str, tenants: set[str] | None
) -> list[tuple[LLMRequest, RequestBody | None]]:
    """Every stored request with this id that the caller may see (``tenants=None``: all)."""
    stmt = (
        select(LLMRequest, RequestBody)
        .outerjoin(RequestBody, RequestBody.id == LLMRequest.id)
        .where(LLMRequest.request_id == request_id)
    )
    if tenants is not None:
        stmt = stmt.where(LLMRequest.tenant.in_(sorted(tenants)))
    return [(r, b) for r, b in session.execute(stmt.order_by(LLMRequest.tenant))]


def purge_bodies(*, session: Session, before_ms: int, limit: int = 5000) -> int:
    """Delete at most ``limit`` bodies older than ``before_ms``; callers loop in short transactions."""
    ids = list(session.scalars(select(RequestBody.id).where(RequestBody.ts_ms < before_ms).limit(limit)))
    if ids:
        session.execute(delete(RequestBody).where(RequestBody.id.in_(ids)))
    return len(ids)


def purge_requests(*, session: Session, before_ms: int, limit: int = 5000) -> int:
    ids = list(session.scalars(select(LLMRequest.id).where(LLMRequest.ts_ms < before_ms).limit(limit)))
    if ids:
        session.execute(delete(RequestBody).where(RequestBody.id.in_(ids)))
        session.execute(delete(LLMRequest).where(LLMRequest.id.in_(ids)))
    return len(ids)
