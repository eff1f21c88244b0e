"""Queries behind /triage: id lookups, text-index candidates, near-duplicate counts. Every one is tenant-scoped.

``tenants=None`` means every tenant (a channel not mapped to one); otherwise only those tenants' rows are
ever read, inside the SQL itself, so no later step can leak another tenant's request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from storage.models import LLMRequest, RequestBody, RollupHour

_PG_TSV = "to_tsvector('simple', coalesce(b.response, ''))"


@dataclass(frozen=True)
class PatternCount:
    """How many requests share a pattern, across how many distinct users and tenants."""

    requests: int
    users: int
    tenants: int


def _tenant_clause(tenants: set[str] | None, alias: str = "r") -> tuple[str, dict[str, str]]:
    if tenants is None:
        return "", {}
    if not tenants:
        return " AND 1 = 0", {}
    names = sorted(tenants)
    marks = ", ".join(f":tenant{i}" for i in range(len(names)))
    return f" AND {alias}.tenant IN ({marks})", {f"tenant{i}": name for i, name in enumerate(names)}


def _scope(tenants: set[str] | None) -> list[ColumnElement[bool]]:
    if tenants is None:
        return []
    return [LLMRequest.tenant.in_(sorted(tenants))]


def list_by_request_ids(*, session: Session, request_ids: Iterable[str], tenants: set[str] | None) -> list[int]:
    """Row ids of requests whose request_id is one of these (exact spellings), newest first."""
    wanted = sorted(set(request_ids))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), 4000):
        chunk = wanted[start : start + 4000]
        stmt = select(LLMRequest.id, LLMRequest.ts_ms).where(LLMRequest.request_id.in_(chunk), *_scope(tenants))
        found.update((int(row_id), int(ts_ms)) for row_id, ts_ms in session.execute(stmt.limit(50)))
    return sorted(found, key=lambda row_id: -found[row_id])[:50]


def get_rows(
    *, session: Session, ids: Iterable[int], tenants: set[str] | None
) -> dict[int, tuple[LLMRequest, RequestBody | None]]:
    """Requests with their bodies by row id, skipping any outside the caller's tenants."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = (
        select(LLMRequest, RequestBody)
        .outerjoin(RequestBody, RequestBody.id == LLMRequest.id)
        .where(LLMRequest.id.in_(wanted), *_scope(tenants))
    )
    return {request.id: (request, body) for request, body in session.execute(stmt) if request.id is not None}


def count_terms(*, session: Session, terms: Iterable[str]) -> dict[str, int] | None:
    """In how many responses each word occurs (SQLite's FTS5 vocabulary); None where the database has no such view."""
    wanted = sorted(set(terms))
    if session.get_bind().dialect.name != "sqlite":
        return None
    if not wanted:
        return {}
    marks = ", ".join(f":t{i}" for i in range(len(wanted)))
    rows = session.execute(
        text(f"SELECT term, doc FROM request_fts_vocab WHERE term IN ({marks})"),
        {f"t{i}": term for i, term in enumerate(wanted)},
    )
    counts = dict.fromkeys(wanted, 0)
    counts.update({term: int(doc) for term, doc in rows})
    return counts


def _window(since_ms: int | None, until_ms: int | None) -> tuple[str, dict[str, int]]:
    sql, params = "", {}
    if since_ms is not None:
        sql += " AND r.ts_ms >= :since_ms"
        params["since_ms"] = since_ms
    if until_ms is not None:
        sql += " AND r.ts_ms < :until_ms"
        params["until_ms"] = until_ms
    return sql, params


def _match(session: Session, phrases: list[str], joiner: str) -> tuple[str, str, dict[str, str], str]:
    """(FROM clause, WHERE condition, parameters, rank order) for responses holding the phrases (AND or OR)."""
    if session.get_bind().dialect.name == "sqlite":
        query = f" {joiner} ".join(f'"{phrase}"' for phrase in phrases)
        source = "request_fts f JOIN requests r ON r.id = f.rowid"
        return source, "request_fts MATCH :query", {"query": query}, "f.rank"
    op = " && " if joiner == "AND" else " || "
    query = "(" + op.join(f"phraseto_tsquery('simple', :p{i})" for i in range(len(phrases))) + ")"
    params = {f"p{i}": phrase for i, phrase in enumerate(phrases)}
    source = "request_bodies b JOIN requests r ON r.id = b.id"
    return source, f"{_PG_TSV} @@ {query}", params, f"ts_rank({_PG_TSV}, {query}) DESC"


def search_phrases(
    *,
    session: Session,
    phrases: list[str],
    tenants: set[str] | None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int = 200,
) -> list[int]:
    """Row ids of responses containing any of the phrases, best text-index rank first (the candidate set)."""
    if not phrases:
        return []
    source, condition, params, order = _match(session, phrases, "OR")
    scope, scope_params = _tenant_clause(tenants)
    window, window_params = _window(since_ms, until_ms)
    sql = f"SELECT r.id FROM {source} WHERE {condition}{scope}{window} ORDER BY {order} LIMIT :limit"
    rows = session.execute(text(sql), {**params, **scope_params, **window_params, "limit": limit})
    return [int(row[0]) for row in rows]


def _pattern_where(
    session: Session,
    *,
    phrases: list[str],
    prompt_version: str,
    model: str,
    tenants: set[str] | None,
    since_ms: int,
    until_ms: int,
) -> tuple[str, dict[str, object]]:
    source, condition, params, _ = _match(session, phrases, "AND")
    scope, scope_params = _tenant_clause(tenants)
    window, window_params = _window(since_ms, until_ms)
    sql = f"FROM {source} WHERE {condition} AND r.prompt_version = :pv AND r.model = :model{scope}{window}"
    return sql, {**params, **scope_params, **window_params, "pv": prompt_version, "model": model}


def count_pattern(
    *,
    session: Session,
    phrases: list[str],
    prompt_version: str,
    model: str,
    tenants: set[str] | None,
    since_ms: int,
    until_ms: int,
) -> PatternCount:
    """Requests in the window with this prompt version and model whose response holds every phrase."""
    if not phrases:
        return PatternCount(0, 0, 0)
    where, params = _pattern_where(
        session,
        phrases=phrases,
        prompt_version=prompt_version,
        model=model,
        tenants=tenants,
        since_ms=since_ms,
        until_ms=until_ms,
    )
    sql = f"SELECT count(*), count(DISTINCT r.user_hash), count(DISTINCT r.tenant) {where}"
    requests, users, tenant_count = session.execute(text(sql), params).one()
    return PatternCount(int(requests), int(users), int(tenant_count))


def list_pattern(
    *,
    session: Session,
    phrases: list[str],
    prompt_version: str,
    model: str,
    tenants: set[str] | None,
    since_ms: int,
    until_ms: int,
    limit: int = 50,
) -> list[int]:
    """Row ids of the newest requests sharing the pattern (for "similar requests")."""
    if not phrases:
        return []
    where, params = _pattern_where(
        session,
        phrases=phrases,
        prompt_version=prompt_version,
        model=model,
        tenants=tenants,
        since_ms=since_ms,
        until_ms=until_ms,
    )
    rows = session.execute(text(f"SELECT r.id {where} ORDER BY r.ts_ms DESC LIMIT :limit"), {**params, "limit": limit})
    return [int(row[0]) for row in rows]


def list_prompt_versions(*, session: Session, tenant: str, intent: str) -> list[tuple[str, int]]:
    """(prompt version, first hour seen in epoch seconds) for one tenant and intent, oldest first, from rollups."""
    stmt = (
        select(RollupHour.prompt_version, func.min(RollupHour.bucket))
        .where(RollupHour.tenant == tenant, RollupHour.intent == intent)
        .group_by(RollupHour.prompt_version)
    )
    return sorted(((version, int(first)) for version, first in session.execute(stmt)), key=lambda item: item[1])


def get_latest_prompt(*, session: Session, tenant: str, prompt_version: str, before_ms: int) -> str | None:
    """The stored prompt JSON of the newest request of this version before a time (for the version diff)."""
    stmt = (
        select(RequestBody.prompt)
        .join(LLMRequest, LLMRequest.id == RequestBody.id)
        .where(LLMRequest.tenant == tenant, LLMRequest.prompt_version == prompt_version, LLMRequest.ts_ms < before_ms)
        .order_by(LLMRequest.ts_ms.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()
