"""Blast radius of a weird answer: one user or a thousand, counted on the same prompt version, model and template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.triage.hints import spread_phrases, words
from storage import triage as store
from storage.models import LLMRequest, RequestBody
from storage.triage import PatternCount

WINDOWS = (("24 h", timedelta(hours=24)), ("7 d", timedelta(days=7)))


@dataclass(frozen=True)
class BlastRadius:
    """Requests sharing the pattern per window; ``pattern`` is the phrases that define "near-duplicate"."""

    prompt_version: str
    model: str
    windows: list[tuple[str, PatternCount]]
    pattern: list[str]


def pattern_phrases(session: Session, body: RequestBody | None) -> list[str]:
    """Template phrases of the matched answer: a near-duplicate (same template, other numbers) holds all of them.

    Checked against the row itself, so a word the text index tokenizes differently never makes the
    pattern match nothing, not even the answer it came from.
    """
    if body is None or not body.response:
        return []
    phrases = spread_phrases(words(body.response)[:400], None)
    return store.list_phrases_in_row(session=session, phrases=phrases, row_id=body.id) if phrases else []


def blast_radius(
    session: Session, request: LLMRequest, body: RequestBody | None, *, tenants: set[str] | None, now: datetime
) -> BlastRadius:
    """Count near-duplicates in the last 24 h and 7 d, within the tenants the caller may see."""
    phrases = pattern_phrases(session, body)
    until = int(now.timestamp() * 1000) + 1
    counts = store.count_pattern(
        session=session,
        phrases=phrases,
        prompt_version=request.prompt_version,
        model=request.model,
        tenants=tenants,
        starts_ms=[until - int(span.total_seconds() * 1000) for _, span in WINDOWS],
        until_ms=until,
    )
    windows = [(label, counted) for (label, _), counted in zip(WINDOWS, counts, strict=True)]
    return BlastRadius(request.prompt_version, request.model, windows, phrases)


def similar_requests(
    session: Session, request: LLMRequest, body: RequestBody | None, *, tenants: set[str] | None, now: datetime
) -> list[LLMRequest]:
    """The newest near-duplicates of the last 7 days, without the request itself."""
    phrases = pattern_phrases(session, body)
    until = int(now.timestamp() * 1000) + 1
    ids = store.list_pattern(
        session=session,
        phrases=phrases,
        prompt_version=request.prompt_version,
        model=request.model,
        tenants=tenants,
        since_ms=until - 7 * 86_400_000,
        until_ms=until,
        limit=11,
    )
    rows = store.get_rows(session=session, ids=[i for i in ids if i != request.id], tenants=tenants)
    return sorted((r for r, _ in rows.values()), key=lambda r: -r.ts_ms)[:10]
