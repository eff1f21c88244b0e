"""Labelled production items as JSONL, ready to become new eval cases: one line per (request, labeller).

Bodies older than the body retention are left out even if the purge has not run yet, and
opted-out tenants are never exported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any

import orjson
from sqlalchemy import select
from sqlmodel import Session, col

from bot.errors import UserError
from storage.evals_models import EvalLabel
from storage.models import LLMRequest, RequestBody

KEYS = (
    "request_id", "tenant", "intent", "prompt_version", "model", "prompt", "context", "response",
    "label", "category", "note", "labeller",
)  # fmt: skip
PAGE = 1000


def parse_since(text: str) -> timedelta:
    """'4w', '30d', '12h' as a span back from now."""
    m = re.fullmatch(r"(\d{1,4})([hdw])", text.strip().lower())
    if not m:
        raise UserError(f"--since takes a span like 4w, 30d or 12h, not '{text[:20]}'")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(hours=n) if unit == "h" else timedelta(days=n * (7 if unit == "w" else 1))


def iter_export(
    session: Session,
    *,
    now: datetime,
    since: timedelta,
    body_retention: timedelta,
    excluded: list[str],
    intent: str | None = None,
    label: str | None = None,
) -> Iterator[dict[str, Any]]:
    """One dict per label with the request's triple (bodies only within retention)."""
    since_ms = int((now - since).timestamp() * 1000)
    body_cutoff = int((now - body_retention).timestamp() * 1000)
    stmt = (
        select(EvalLabel, LLMRequest, RequestBody)
        .join(LLMRequest, (LLMRequest.request_id == EvalLabel.request_id) & (LLMRequest.tenant == EvalLabel.tenant))
        .outerjoin(RequestBody, RequestBody.id == LLMRequest.id)
        .where(EvalLabel.ts_ms >= since_ms)
    )
    if excluded:
        stmt = stmt.where(col(EvalLabel.tenant).not_in(excluded))
    if intent:
        stmt = stmt.where(LLMRequest.intent == intent)
    if label:
        stmt = stmt.where(EvalLabel.label == label)
    last = 0
    while True:
        page = session.execute(stmt.where(col(EvalLabel.id) > last).order_by(col(EvalLabel.id)).limit(PAGE)).all()
        for lab, req, body in page:
            kept = body is not None and req.ts_ms >= body_cutoff
            yield {
                "request_id": req.request_id,
                "tenant": req.tenant,
                "intent": req.intent,
                "prompt_version": req.prompt_version,
                "model": req.model,
                "prompt": orjson.loads(body.prompt) if kept and body.prompt else None,
                "context": orjson.loads(body.context) if kept and body.context else None,
                "response": body.response if kept else None,
                "label": lab.label,
                "category": lab.category,
                "note": lab.note,
                "labeller": lab.labeller,
            }
        if len(page) < PAGE:
            return
        last = int(page[-1][0].id or 0)


def write_jsonl(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    n = 0
    for row in rows:
        out.write(orjson.dumps(row) + b"\n")
        n += 1
    return n
