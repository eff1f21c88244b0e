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
from storage.texttokens import has_spaceless, like_escape, like_pattern, pg_folded, quote_fold

_PG_TSV = "to_tsvector('simple', coalesce(b.response, ''))"
_COMPOUND = 200
"""Terms counted per statement: SQLite allows 500 SELECTs in one UNION ALL."""


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


def count_terms(*, session: Session, terms: Iterable[str], sample: int) -> dict[str, int] | None:
    """In how many responses each word occurs: exact below ``sample``, estimated above; None where unknown.

    Matching ranks words by rarity, which needs the order of common words, not their exact counts.
    FTS5's vocabulary view walks a word's whole list (45 ms for "the" at a million rows); here each
    word reads at most its newest ``sample`` rows and a common word's count is scaled up from how far
    back (in row ids) they reach. A word in a recent burst therefore reads as more common than it is,
    which only moves it down the list of phrases tried first; it is never counted below what was seen.
    """
    wanted = sorted(set(terms))
    if session.get_bind().dialect.name != "sqlite":
        return None
    counts = dict.fromkeys(wanted, 0)
    # Two subqueries: SQLite reads min and max off the primary key only when each is alone.
    low, high = session.execute(text("SELECT (SELECT min(id) FROM requests), (SELECT max(id) FROM requests)")).one()
    if high is None:
        return counts
    for start in range(0, len(wanted), _COMPOUND):
        chunk = wanted[start : start + _COMPOUND]
        sql = " UNION ALL ".join(
            f"SELECT {i}, count(*), min(rowid) FROM (SELECT rowid FROM request_fts WHERE request_fts MATCH :t{i} "
            "ORDER BY rowid DESC LIMIT :sample)"
            for i in range(len(chunk))
        )
        params: dict[str, object] = {f"t{i}": _quoted(term) for i, term in enumerate(chunk)}
        for i, n, oldest in session.execute(text(sql), {**params, "sample": sample}):
            n = int(n)
            if n >= sample and oldest is not None:
                n = max(n, round(n * (high - low + 1) / max(1, high - int(oldest) + 1)))
            counts[chunk[int(i)]] = n
    return counts


PREFIX = "*"
"""Ends a phrase whose last word may be cut short: that word matches any word it begins."""


def _quoted(phrase: str) -> str:
    """An FTS5 string: words from ``hints.words`` hold no quote, so quoting makes any of them literal."""
    if phrase.endswith(PREFIX):
        return '"' + phrase[: -len(PREFIX)].replace('"', '""') + '" *'
    return '"' + phrase.replace('"', '""') + '"'


def _pg_phrase(name: str, phrase: str) -> tuple[str, dict[str, str]]:
    """A tsquery for a phrase (the last word a prefix when the phrase ends with ``PREFIX``)."""
    if not phrase.endswith(PREFIX):
        return f"phraseto_tsquery('simple', :{name})", {name: phrase}
    words = phrase[: -len(PREFIX)].split()
    # Words come from hints.words (letters and digits only), so they need no tsquery quoting.
    return f"to_tsquery('simple', :{name})", {name: " <-> ".join(words) + ":*"}


def _window(since_ms: int | None, until_ms: int | None) -> tuple[str, dict[str, int]]:
    sql, params = "", {}
    if since_ms is not None:
        sql += " AND r.ts_ms >= :since_ms"
        params["since_ms"] = since_ms
    if until_ms is not None:
        sql += " AND r.ts_ms < :until_ms"
        params["until_ms"] = until_ms
    return sql, params


def _match(session: Session, phrases: list[str]) -> tuple[str, str, dict[str, str]]:
    """(FROM clause, WHERE condition, parameters) for responses holding every phrase."""
    if session.get_bind().dialect.name == "sqlite":
        query = " AND ".join(_quoted(phrase) for phrase in phrases)
        # CROSS JOIN keeps the text index first: driven from an index on requests instead, SQLite would
        # run one text query per request row (minutes at a million rows).
        return "request_fts f CROSS JOIN requests r ON r.id = f.rowid", "request_fts MATCH :query", {"query": query}
    # A space-less script is one word to the word index: its phrases go to the trigram index as substrings.
    spaced = [phrase for phrase in phrases if not has_spaceless(phrase)]
    spaceless = [phrase for phrase in phrases if has_spaceless(phrase)]
    conditions: list[str] = []
    params: dict[str, str] = {}
    if spaced:
        parts = [_pg_phrase(f"p{i}", phrase) for i, phrase in enumerate(spaced)]
        for _, bound in parts:
            params.update(bound)
        conditions.append(f"{_PG_TSV} @@ ({' && '.join(sql for sql, _ in parts)})")
    if spaceless:
        for i, phrase in enumerate(spaceless):
            conditions.append(f"{pg_folded('b.response')} LIKE :s{i}")
            params[f"s{i}"] = like_pattern(phrase)
    return "request_bodies b JOIN requests r ON r.id = b.id", " AND ".join(conditions), params


def list_phrase_rows(
    *,
    session: Session,
    phrases: list[str],
    tenants: set[str] | None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int,
) -> list[int]:
    """Row ids of responses holding every phrase, at most ``limit``.

    No ranking: the text index hands rows over in id order and stops at the limit, so a query costs
    at most what its rarest word costs. A caller that gets ``limit`` rows back knows the set is incomplete.
    """
    if not phrases:
        return []
    source, condition, params = _match(session, phrases)
    scope, scope_params = _tenant_clause(tenants)
    window, window_params = _window(since_ms, until_ms)
    sql = f"SELECT r.id FROM {source} WHERE {condition}{scope}{window} LIMIT :limit"
    if not scope and not window and session.get_bind().dialect.name == "sqlite":
        # Nothing to check on the request: the index alone answers (list_match_texts drops stale ids).
        sql = f"SELECT rowid FROM request_fts WHERE {condition} LIMIT :limit"
    rows = session.execute(text(sql), {**params, **scope_params, **window_params, "limit": limit})
    return [int(row[0]) for row in rows]


def list_quote_rows(*, session: Session, quote: str, tenants: set[str] | None, limit: int) -> list[int] | None:
    """Row ids of answers holding a verbatim quote, from PostgreSQL's trigram index; None on SQLite.

    On PostgreSQL a typed quote is matched as it stands: its word index cuts numbers and accents its
    own way, and a quote of a few characters usually starts and ends mid-word.
    """
    if session.get_bind().dialect.name != "postgresql" or len(quote) < 3:
        return None
    scope, scope_params = _tenant_clause(tenants)
    sql = (
        f"SELECT r.id FROM request_bodies b JOIN requests r ON r.id = b.id "
        f"WHERE {pg_folded('b.response')} LIKE :quote{scope} LIMIT :limit"
    )
    params = {"quote": f"%{like_escape(quote_fold(quote))}%", **scope_params, "limit": limit}
    return [int(row[0]) for row in session.execute(text(sql), params)]


@dataclass(frozen=True)
class MatchText:
    """What the fuzzy re-rank reads of a candidate: its time, answer and (when asked for) prompt JSON."""

    id: int
    ts_ms: int
    response: str | None
    prompt: str | None


def list_match_texts(
    *, session: Session, ids: Iterable[int], tenants: set[str] | None, with_prompt: bool
) -> list[MatchText]:
    """The answers (and prompts) of candidate rows, without loading whole requests for rows that will not be shown."""
    wanted = sorted(set(ids))
    columns = [LLMRequest.id, LLMRequest.ts_ms, RequestBody.response]
    if with_prompt:
        columns.append(RequestBody.prompt)
    found: list[MatchText] = []
    for start in range(0, len(wanted), 4000):
        stmt = (
            select(*columns)
            .join(RequestBody, RequestBody.id == LLMRequest.id)
            .where(LLMRequest.id.in_(wanted[start : start + 4000]), *_scope(tenants))
        )
        for row in session.execute(stmt):
            found.append(MatchText(int(row[0]), int(row[1]), row[2], row[3] if with_prompt else None))
    return found


def list_phrases_in_row(*, session: Session, phrases: list[str], row_id: int) -> list[str]:
    """The phrases the text index finds in one row's response (a word it tokenizes otherwise would be missing)."""
    found = []
    for phrase in phrases:
        source, condition, params = _match(session, [phrase])
        sql = f"SELECT 1 FROM {source} WHERE {condition} AND r.id = :row_id"
        if session.execute(text(sql), {**params, "row_id": row_id}).first() is not None:
            found.append(phrase)
    return found


def count_pattern(
    *,
    session: Session,
    phrases: list[str],
    prompt_version: str,
    model: str,
    tenants: set[str] | None,
    starts_ms: list[int],
    until_ms: int,
) -> list[PatternCount]:
    """Requests with this prompt version and model whose response holds every phrase, for windows ending together.

    One pass over the matching rows counts every window (``starts_ms``, e.g. 24 h and 7 d ago), since the
    cost is reading each near-duplicate once, whatever the window.
    """
    if not phrases or not starts_ms:
        return [PatternCount(0, 0, 0) for _ in starts_ms]
    source, condition, params = _match(session, phrases)
    scope, scope_params = _tenant_clause(tenants)
    window, window_params = _window(min(starts_ms), until_ms)
    parts = []
    for i in range(len(starts_ms)):
        inside = f"r.ts_ms >= :start{i}"
        parts.append(
            f"sum(CASE WHEN {inside} THEN 1 ELSE 0 END), count(DISTINCT CASE WHEN {inside} THEN r.user_hash END), "
            f"count(DISTINCT CASE WHEN {inside} THEN r.tenant END)"
        )
    sql = (
        f"SELECT {', '.join(parts)} FROM {source} WHERE {condition} "
        f"AND r.prompt_version = :pv AND r.model = :model{scope}{window}"
    )
    values = {f"start{i}": start for i, start in enumerate(starts_ms)}
    row = session.execute(
        text(sql), {**params, **scope_params, **window_params, **values, "pv": prompt_version, "model": model}
    ).one()
    return [
        PatternCount(int(row[3 * i] or 0), int(row[3 * i + 1] or 0), int(row[3 * i + 2] or 0))
        for i in range(len(starts_ms))
    ]


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
    source, condition, params = _match(session, phrases)
    scope, scope_params = _tenant_clause(tenants)
    window, window_params = _window(since_ms, until_ms)
    sql = (
        f"SELECT r.id FROM {source} WHERE {condition} AND r.prompt_version = :pv AND r.model = :model{scope}{window} "
        "ORDER BY r.ts_ms DESC LIMIT :limit"
    )
    rows = session.execute(
        text(sql),
        {**params, **scope_params, **window_params, "pv": prompt_version, "model": model, "limit": limit},
    )
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
