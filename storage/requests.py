"""Logged requests: the bulk insert on the ingest path, lookups, and retention."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.dialect import upsert_insert
from storage.models import LLMRequest, RequestBody

REQUESTS = LLMRequest.__table__
BODIES = RequestBody.__table__
REQUEST_COLUMNS = tuple(c.name for c in REQUESTS.columns)
BODY_COLUMNS = tuple(c.name for c in BODIES.columns)
_request_values = itemgetter(*REQUEST_COLUMNS)
_body_values = itemgetter(*BODY_COLUMNS)


@cache
def _plain_insert(conn_dialect: str, table: str, columns: tuple[str, ...]) -> str:
    """A positional INSERT for executemany with tuples: the ingest path skips per-row
    parameter processing, which costs more than SQLite's own work for a 30-column row."""
    marks = ", ".join(["?" if conn_dialect == "sqlite" else "%s"] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def insert_requests(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert rows whose (tenant, request_id) is new; returns the new ones' database ids.

    Must run inside a write transaction (``Database.write_session``): a
    concurrent writer of the same event can then never make it count twice.
    """
    if not rows:
        return {}
    if conn.dialect.name == "sqlite":
        return _insert_sqlite(conn, rows)
    return _insert_returning(conn, rows)


def _insert_sqlite(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    # The transaction began with BEGIN IMMEDIATE and holds SQLite's single write
    # lock, so "what exists" and "the next id" cannot change before our insert:
    # a plain executemany with explicit ids is safe, and several times cheaper
    # than a multi-row INSERT ... RETURNING. Should the lock ever be missing, a
    # duplicate fails on the unique constraint instead of counting twice.
    names = tuple({r["request_id"] for r in rows})
    # Plain SQL: building this query with SQLAlchemy for every batch cost more than running it.
    marks = ",".join("?" * len(names))
    existing = set(
        map(
            tuple, conn.exec_driver_sql(f"SELECT tenant, request_id FROM requests WHERE request_id IN ({marks})", names)
        )
    )
    next_id = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM requests").scalar_one() + 1
    new: list[tuple[Any, ...]] = []
    ids: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r["tenant"], r["request_id"])
        if key in existing or key in ids:
            continue
        ids[key] = next_id
        r["id"] = next_id
        new.append(_request_values(r))
        next_id += 1
    if new:
        conn.exec_driver_sql(_plain_insert("sqlite", "requests", REQUEST_COLUMNS), new)
    return ids


def _insert_returning(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    # ON CONFLICT DO NOTHING ... RETURNING reports only the rows this statement
    # inserted; PostgreSQL makes a concurrent insert of the same key wait for the
    # other transaction and then skip it.
    stmt = (
        upsert_insert(conn, REQUESTS)
        .on_conflict_do_nothing(index_elements=["request_id", "tenant"])
        .returning(REQUESTS.c.id, REQUESTS.c.tenant, REQUESTS.c.request_id)
    )
    result = conn.execute(stmt, list(rows))
    return {(tenant, request_id): id_ for id_, tenant, request_id in result}


def insert_bodies(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        sql = _plain_insert(conn.dialect.name, "request_bodies", BODY_COLUMNS)
        conn.exec_driver_sql(sql, [_body_values(r) for r in rows])


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


def purge_bodies(*, session: Session, before_ms: int, limit: int = 5000) -> list[tuple[int, str | None]]:
    """Delete at most ``limit`` bodies older than ``before_ms``; callers loop in short transactions.

    Returns (id, answer) of what went, which the SQLite text index needs to forget them.
    """
    gone = [
        (i, r)
        for i, r in session.execute(
            select(RequestBody.id, RequestBody.response).where(RequestBody.ts_ms < before_ms).limit(limit)
        )
    ]
    if gone:
        session.execute(delete(RequestBody).where(RequestBody.id.in_([i for i, _ in gone])))
    return gone


def purge_requests(*, session: Session, before_ms: int, limit: int = 5000) -> tuple[int, list[tuple[int, str | None]]]:
    """Delete at most ``limit`` requests older than ``before_ms`` with any body they still have.

    Returns how many requests went and (id, answer) of the bodies that went with them.
    """
    ids = list(session.scalars(select(LLMRequest.id).where(LLMRequest.ts_ms < before_ms).limit(limit)))
    bodies: list[tuple[int, str | None]] = []
    if ids:
        bodies = [
            (i, r)
            for i, r in session.execute(select(RequestBody.id, RequestBody.response).where(RequestBody.id.in_(ids)))
        ]
        session.execute(delete(RequestBody).where(RequestBody.id.in_(ids)))
        session.execute(delete(LLMRequest).where(LLMRequest.id.in_(ids)))
    return len(ids), bodies
