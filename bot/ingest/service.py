"""Validate a batch of events and store the good ones with their rollups, atomically."""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from bot import metrics
from bot.ingest.pricing import PriceTable
from bot.ingest.schema import FUTURE_SLACK, EventIn, IngestResult, Rejection
from bot.refusals.classify import RefusalPatterns
from bot.refusals.signal import refusal_verdict
from bot.validation import BAD_TEXT_MESSAGE, bad_text_path, check_age, has_bad_text
from storage import requests as request_store
from storage import rollups
from storage.engine import Database

log = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock, serialization failure
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class Writer:
    """Who is writing: the key's id and, for a tenant-bound key, the only tenant it may write."""

    key_id: int | None
    tenant: str | None


class IngestHook(Protocol):
    """A capability's work on each batch: ``prepare`` runs outside the write lock, its result's
    ``write(conn, stored, now)`` inside the batch's transaction, for the events actually stored."""

    def prepare(
        self, db: Database, rows: Sequence[dict[str, Any]], bodies: Sequence[dict[str, Any]], raws: Sequence[Any]
    ) -> Any: ...


@dataclass(frozen=True)
class IngestConfig:
    prices: PriceTable
    secret_key: bytes
    refusal_patterns: RefusalPatterns = field(default_factory=RefusalPatterns.default)
    hooks: tuple[IngestHook, ...] = ()
    max_age: timedelta = timedelta(days=395)
    """Events older than this (the retention of request figures) are refused: they would be purged at once."""


def _field_path(index: int, loc: Sequence[int | str]) -> str:
    path = f"events[{index}]"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def hash_user(secret_key: bytes, tenant: str, user_id: str) -> str:
    """Keyed per tenant, so the same raw id in two tenants is two users and none is reversible."""
    h = _keyed_blake2b(secret_key).copy()  # a copy skips hashing the key block again, once per event
    h.update(f"{tenant}\x00{user_id}".encode())
    return h.hexdigest()


@lru_cache(maxsize=4)
def _keyed_blake2b(secret_key: bytes) -> Any:
    return hashlib.blake2b(key=secret_key[:64], digest_size=16)


def to_rows(
    event: EventIn, raw: dict[str, Any], cfg: IngestConfig, *, writer: Writer, received_ms: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request row and the body row (without ids) for one validated event."""
    if event.cost_usd is not None:
        cost, source = event.cost_usd, "client"
    else:
        price = cfg.prices.price_of(event.model)
        if price is None:
            cost, source = None, "unknown"
        else:
            cost = price.cost(event.input_tokens, event.output_tokens, event.cached_tokens)
            source = "price_table"
    ts_ms = int(event.timestamp.timestamp() * 1000)
    intent = event.intent or ""
    refused, refusal_rule = refusal_verdict(event, cfg.refusal_patterns)
    row = {
        "tenant": event.tenant,
        "request_id": event.request_id,
        "ts_ms": ts_ms,
        "received_ms": received_ms,
        "intent": intent,
        "category": event.category or intent,
        "path": event.path or "",
        "session_id": event.session_id,
        "trace_id": event.trace_id,
        "user_hash": hash_user(cfg.secret_key, event.tenant, event.user_id) if event.user_id else None,
        "prompt_version": event.prompt_version,
        "model": event.model,
        "model_requested": event.model_requested,
        "provider": event.provider,
        "system_fingerprint": event.system_fingerprint,
        "input_tokens": event.input_tokens,
        "output_tokens": event.output_tokens,
        "cached_tokens": event.cached_tokens,
        "cost_usd": cost,
        "cost_source": source,
        "latency_ms": event.latency_ms,
        "ttft_ms": event.ttft_ms,
        "status": event.status,
        "finish_reason": event.finish_reason,
        "refused": refused,
        "refusal_rule": refusal_rule,
        "attempt": event.attempt,
        "parent_request_id": event.parent_request_id,
        "agent_step": event.agent_step,
        "api_key_id": event.api_key_id or "",
        "client_ip": event.client_ip,
        "labels": orjson.dumps(event.labels).decode() if event.labels else None,
        "ingest_key_id": writer.key_id,
    }
    prompt, context = raw.get("prompt"), raw.get("context")
    body = {
        "ts_ms": ts_ms,
        "prompt": orjson.dumps(prompt).decode() if prompt is not None else None,
        "context": orjson.dumps(context).decode() if context is not None else None,
        "response": event.response,
    }
    return row, body


_EVENTS = TypeAdapter(list[EventIn])


def validate_batch(
    events: Sequence[Any], *, writer: Writer, now: datetime, max_age: timedelta | None = None
) -> tuple[list[tuple[EventIn, dict[str, Any]]], IngestResult]:
    """Split a batch into valid events and rejections (with field paths a person can act on)."""
    good, result = _validate_indexed(events, writer=writer, now=now, max_age=max_age or IngestConfig.max_age)
    return [(event, raw) for _, event, raw in good], result


def _validate_indexed(
    events: Sequence[Any], *, writer: Writer, now: datetime, max_age: timedelta
) -> tuple[list[tuple[int, EventIn, dict[str, Any]]], IngestResult]:
    result = IngestResult()
    good: list[tuple[int, EventIn, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for i, event, raw in _valid_events(events, result.errors):
        if writer.tenant is not None and event.tenant != writer.tenant:
            result.errors.append(
                Rejection(
                    index=i,
                    field=f"events[{i}].tenant",
                    message=f"this key may only write tenant {writer.tenant!r}",
                )
            )
            continue
        when = check_age(event.when(), now=now, oldest=max_age, future=FUTURE_SLACK)
        if when:
            result.errors.append(Rejection(index=i, field=f"events[{i}].timestamp", message=when))
            continue
        key = (event.tenant, event.request_id)
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        good.append((i, event, raw))
    result.rejected = len({e.index for e in result.errors})
    return good, result


def _valid_events(events: Sequence[Any], errors: list[Rejection]) -> Iterator[tuple[int, EventIn, dict[str, Any]]]:
    """(index, event, raw) of each event that validates; rejections of the others go to `errors`.

    The whole batch is validated in one call first; only a batch with an error in it is
    validated again event by event, for the rejections and the good events around them.
    """
    batch = events if isinstance(events, list) else list(events)
    if all(isinstance(raw, dict) for raw in batch):
        try:
            validated = _EVENTS.validate_python(batch)
        except ValidationError:
            pass
        else:
            if not has_bad_text(batch):
                yield from zip(itertools.count(), validated, batch)
                return
    for i, raw in enumerate(batch):
        if not isinstance(raw, dict):
            errors.append(Rejection(index=i, field=f"events[{i}]", message="must be a JSON object"))
            continue
        bad = bad_text_path(raw, f"events[{i}]")
        if bad:
            errors.append(Rejection(index=i, field=bad, message=BAD_TEXT_MESSAGE))
            continue
        try:
            event = EventIn.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                msg = e["msg"].removeprefix("Value error, ")
                if e["type"] == "missing":
                    msg = "is required"
                elif e["type"] == "extra_forbidden":
                    msg = "is not a known field (see docs/events.md)"
                errors.append(Rejection(index=i, field=_field_path(i, e["loc"]), message=msg))
            continue
        yield i, event, raw


def ingest(db: Database, events: Sequence[Any], *, cfg: IngestConfig, writer: Writer, now: datetime) -> IngestResult:
    """Store every valid event once, with its body and rollups; a row the database refuses is rejected alone."""
    good, result = _validate_indexed(events, writer=writer, now=now, max_age=cfg.max_age)
    if not good:
        return result
    received_ms = int(now.timestamp() * 1000)
    batch: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for i, event, raw in good:
        row, body = to_rows(event, raw, cfg, writer=writer, received_ms=received_ms)
        batch.append((i, row, body))
    # Aggregated before taking the write lock: writers queue on it, so whatever
    # can be computed outside it is throughput. Recomputed inside only when the
    # batch held events already stored.
    aggregates = rollups.aggregate([row for _, row, _ in batch])
    before = len(result.errors)
    raws = {i: raw for i, _, raw in good}
    inserted = _store_or_split(db, batch, aggregates, result, Writes(cfg.hooks, raws, now))
    refused = len(result.errors) - before
    result.accepted += inserted
    result.duplicates += len(good) - inserted - refused
    result.rejected = len({e.index for e in result.errors})
    return result


@dataclass(frozen=True)
class Writes:
    """What the hooks add to a batch's transaction: their prepared work is redone for each half of a split."""

    hooks: tuple[IngestHook, ...]
    raws: dict[int, dict[str, Any]]
    now: datetime


def _store_or_split(
    db: Database,
    batch: list[tuple[int, dict[str, Any], dict[str, Any]]],
    aggregates: rollups.Aggregates | None,
    result: IngestResult,
    writes: Writes,
) -> int:
    """Store a batch; if the database refuses its data, store each half on its own, down to the bad rows.

    A refused row (a value the validation could not foresee) costs log2(batch) extra
    transactions and is listed as rejected; every good event around it is still stored.
    """
    rows = [row for _, row, _ in batch]
    bodies = [body for _, _, body in batch]
    try:
        pending = [hook.prepare(db, rows, bodies, [writes.raws[i] for i, _, _ in batch]) for hook in writes.hooks]
        return _store_retrying(db, rows, bodies, aggregates or rollups.aggregate(rows), pending, writes.now)
    except (DataError, IntegrityError) as exc:
        sqlstate = getattr(exc.orig, "sqlstate", None) or exc.orig.__class__.__name__
        if len(batch) == 1:
            i = batch[0][0]
            log.warning("the database refused event %d of a batch (%s)", i, sqlstate)
            message = f"the database refused this event ({sqlstate}); check its text fields for unusual characters"
            result.errors.append(Rejection(index=i, field=f"events[{i}]", message=message))
            return 0
        half = len(batch) // 2
        return _store_or_split(db, batch[:half], None, result, writes) + _store_or_split(
            db, batch[half:], None, result, writes
        )


def _store_retrying(
    db: Database,
    rows: list[dict[str, Any]],
    bodies: list[dict[str, Any]],
    aggregates: rollups.Aggregates,
    pending: list[Any],
    now: datetime,
) -> int:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return _store(db, rows, bodies, aggregates, pending, now)
        except DBAPIError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate not in RETRYABLE_SQLSTATES or attempt == MAX_ATTEMPTS:
                raise
            log.warning("ingest transaction conflict (%s), retrying (attempt %d)", sqlstate, attempt)
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _store(
    db: Database,
    rows: list[dict[str, Any]],
    bodies: list[dict[str, Any]],
    aggregates: rollups.Aggregates,
    pending: list[Any],
    now: datetime,
) -> int:
    with db.write_session() as session:
        conn = session.connection()
        ids = request_store.insert_requests(conn, rows)
        new_bodies = []
        for row, body in zip(rows, bodies, strict=True):
            id_ = ids.get((row["tenant"], row["request_id"]))
            if id_ is not None and (
                body["prompt"] is not None or body["context"] is not None or body["response"] is not None
            ):
                body["id"] = id_
                new_bodies.append(body)
        request_store.insert_bodies(conn, new_bodies)
        if len(ids) != len(rows):
            aggregates = rollups.aggregate([r for r in rows if (r["tenant"], r["request_id"]) in ids])
        rollups.add_aggregates(conn, aggregates)
        for work in pending:
            work.write(conn, ids, now)
    metrics.observe_stored([r for r in rows if (r["tenant"], r["request_id"]) in ids])
    return len(ids)
