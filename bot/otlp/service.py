"""Export requests to stored events: map spans, join retrievals, store through the ingest service.

Storing goes through ``bot.ingest.service.ingest`` (validation, idempotency, rollups, one
transaction), exactly as ``POST /v1/events`` does. The join is kept in ``otlp_spans``:
spans are written only after the events they name are committed and the trace is read
again afterwards, so of two replicas storing a model call and its retrieval at the same
moment at least one sees the other and writes the context.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from bot.ingest.service import IngestConfig, Writer, ingest
from bot.otlp.attributes import as_dict
from bot.otlp.config import OtlpConfig
from bot.otlp.join import JoinSpan, assign, context_of
from bot.otlp.mapping import LlmCall, Rejected, Retrieval, map_span
from storage import otlp as span_store
from storage.engine import Database

KEEP_SPANS = timedelta(minutes=15)
"""How long spans stay joinable after arrival: the window is 30 s of span time, exporters retry for minutes."""
MAX_REASONS = 10


@dataclass
class ExportResult:
    accepted: int = 0
    duplicates: int = 0
    retrievals: int = 0
    dropped: int = 0
    reasons: list[str] = field(default_factory=list)
    rejected: int = 0
    unknown: dict[str, int] = field(default_factory=dict)

    def message(self) -> str:
        """``partial_success.error_message``: the first reasons, then how many more."""
        shown = "; ".join(self.reasons[:MAX_REASONS])
        more = len(self.reasons) - MAX_REASONS
        return f"{shown}; and {more} more" if more > 0 else shown


@dataclass
class Mapped:
    calls: list[LlmCall] = field(default_factory=list)
    retrievals: list[Retrieval] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    dropped: int = 0


def map_request(request: Any, cfg: OtlpConfig, *, key_tenant: str | None) -> Mapped:
    """Every span of an export request sorted into model calls, retrievals, rejections and the rest."""
    out = Mapped()
    for resource_spans in request.resource_spans:
        resource = as_dict(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                mapped = map_span(span, resource, cfg, key_tenant=key_tenant)
                if mapped is None:
                    out.dropped += 1
                elif isinstance(mapped, LlmCall):
                    out.calls.append(mapped)
                elif isinstance(mapped, Retrieval):
                    out.retrievals.append(mapped)
                else:
                    out.rejected.append(mapped)
    return out


def store(
    db: Database, mapped: Mapped, *, cfg: OtlpConfig, ingest_cfg: IngestConfig, writer: Writer, now: datetime
) -> ExportResult:
    """Store the model calls as events with their joined context; keep the spans for later joins."""
    result = ExportResult(dropped=mapped.dropped, retrievals=len(mapped.retrievals))
    result.reasons = [f"span {r.ref.span_id}: {r.reason}" for r in mapped.rejected]
    window_ms = int(cfg.join_window_seconds * 1000)
    calls = [_join_span(c) for c in mapped.calls]
    mine = calls + [_join_span(r) for r in mapped.retrievals]
    before = _stored_spans(db, {(s.tenant, s.trace_id) for s in mine})
    joined = _with_docs(db, assign([*before, *mine], window_ms=window_ms), mine)
    events = []
    for call, span in zip(mapped.calls, calls, strict=True):
        context = context_of(joined.get(span.key, []))
        events.append({**call.event, "context": context} if context else call.event)
    outcome = ingest(db, events, cfg=ingest_cfg, writer=writer, now=now)
    result.accepted, result.duplicates = outcome.accepted, outcome.duplicates
    refused = {err.index for err in outcome.errors}
    for err in outcome.errors:
        name = err.field.split("]", 1)[1].lstrip(".") if "]" in err.field else err.field
        result.reasons.append(f"span {mapped.calls[err.index].ref.span_id}: {name or 'event'} {err.message}")
    result.rejected = len(mapped.rejected) + len(refused)
    for i, call in enumerate(mapped.calls):
        for name in call.unknown if i not in refused else ():
            result.unknown[name] = result.unknown.get(name, 0) + 1
    kept = [s for i, s in enumerate(calls) if i not in refused] + mine[len(calls) :]
    if kept:
        refused_keys = {calls[i].key for i in refused}
        rejoin = Rejoin(before, kept, joined, refused_keys, window_ms)
        rejoin.run(db, received_ms=int(now.timestamp() * 1000))
    return result


@dataclass
class Rejoin:
    """Keep this batch's spans, then fix the context of every stored call whose retrievals changed.

    The trace is counted again after the commit: a span another replica committed meanwhile is
    seen here (or that replica sees ours). With nothing new, the join computed before storing
    stands, and only calls of earlier batches that this batch's retrievals joined need a write.
    """

    before: list[JoinSpan]
    kept: list[JoinSpan]
    joined: dict[tuple[str, str, str], list[JoinSpan]]
    refused: set[tuple[str, str, str]]
    window_ms: int

    def run(self, db: Database, *, received_ms: int) -> None:
        with db.write_session() as session:
            conn = session.connection()
            span_store.insert_spans(conn, [_row(s, received_ms) for s in self.kept])
            span_store.purge_spans(conn, before_ms=received_ms - int(KEEP_SPANS.total_seconds() * 1000))
        traces = {(s.tenant, s.trace_id) for s in self.kept}
        ids = {trace for _, trace in traces}
        spans = {s.key: s for s in (*self.before, *self.kept) if s.trace_id in ids}
        with db.session() as session:
            count = span_store.count_trace_spans(session.connection(), ids)
        now_joined = self.joined
        if count != len(spans) or self.refused & self.joined.keys():
            spans = {s.key: s for s in _stored_spans(db, traces)}
            now_joined = _with_docs(db, assign(spans.values(), window_ms=self.window_ms), self.kept)
        fix = self._changed(spans.values(), now_joined)
        if fix:
            with db.write_session() as session:
                span_store.set_contexts(session.connection(), fix)

    def _changed(
        self, spans: Iterable[JoinSpan], now_joined: dict[tuple[str, str, str], list[JoinSpan]]
    ) -> dict[tuple[str, str], str | None]:
        mine = {s.key for s in self.kept}
        # A call kept by an earlier export was stored then, with that export's join: a resent copy
        # in this batch is a duplicate whose context the ingest service did not write.
        first_seen = mine - {s.key for s in self.before}
        fix: dict[tuple[str, str], str | None] = {}
        for span in spans:
            if span.kind != "llm" or span.request_id is None:
                continue
            now_ctx = now_joined.get(span.key, [])
            if span.key in first_seen:
                changed = [r.key for r in now_ctx] != [r.key for r in self.joined.get(span.key, [])]
            else:
                changed = any(r.key in mine for r in now_ctx)
            if changed:
                context = context_of(now_ctx)
                fix[(span.tenant, span.request_id)] = orjson.dumps(context).decode() if context else None
        return fix


def _with_docs(
    db: Database, joined: dict[tuple[str, str, str], list[JoinSpan]], mine: list[JoinSpan]
) -> dict[tuple[str, str, str], list[JoinSpan]]:
    """The join with every retrieval's documents: this batch's at hand, stored ones read once."""
    have = {s.key: s for s in mine if s.kind == "retrieval"}
    missing = {r.key for rs in joined.values() for r in rs if r.key not in have}
    if missing:
        with db.session() as session:
            stored = span_store.get_docs(session.connection(), missing)
        for key, docs in stored.items():
            have[key] = JoinSpan(*key, "retrieval", 0, 0, None, tuple(orjson.loads(docs)))
    return {call: [have.get(r.key, r) for r in rs] for call, rs in joined.items()}


def _stored_spans(db: Database, traces: Iterable[tuple[str, str]]) -> list[JoinSpan]:
    if not traces:
        return []
    with db.session() as session:
        rows = span_store.list_trace_spans(session.connection(), traces)
    return [JoinSpan(*row) for row in rows]


def _join_span(item: LlmCall | Retrieval) -> JoinSpan:
    if isinstance(item, LlmCall):
        return JoinSpan(
            item.tenant,
            item.ref.trace_id,
            item.ref.span_id,
            "llm",
            item.start_ms,
            item.start_ms,
            item.event["request_id"],
        )
    return JoinSpan(
        item.tenant,
        item.ref.trace_id,
        item.ref.span_id,
        "retrieval",
        item.start_ms,
        item.end_ms,
        None,
        tuple(item.docs),
    )


def _row(span: JoinSpan, received_ms: int) -> tuple[Any, ...]:
    docs = orjson.dumps(list(span.docs)).decode() if span.docs else None
    return (
        span.tenant,
        span.trace_id,
        span.span_id,
        span.kind,
        span.start_ms,
        span.end_ms,
        span.request_id,
        docs,
        received_ms,
    )
