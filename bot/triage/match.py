"""Which logged request the screenshot shows: an id first, else text-index candidates re-ranked fuzzily."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson
from rapidfuzz import fuzz
from sqlmodel import Session

from bot.triage.extract import ScreenshotText, fold_confusables
from bot.triage.hints import choose_phrases, id_variants, normal, time_hint, words
from storage import triage as store
from storage.models import LLMRequest, RequestBody

CANDIDATES = 200
"""Rows re-ranked per search: 50 found only 82% of the answers text can pin down, 200 found them all (issue 5)."""
PHRASES = 12
CONFIDENT_SCORE = 80.0
CONFIDENT_MARGIN = 2.0
MIN_SCORE = 55.0
MIN_WORDS = 3
SHOWN = 10


@dataclass(frozen=True)
class Candidate:
    """One logged request that may be the one in the screenshot, with how well it matches (0-100)."""

    request: LLMRequest
    body: RequestBody | None
    score: float
    by_id: bool = False


@dataclass
class MatchResult:
    """The ranked candidates and what the search used, so the card can explain itself."""

    candidates: list[Candidate] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    searched: int = 0

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def confident(self) -> bool:
        """One candidate clearly ahead: an id hit in one tenant, or a high score well above the runner-up."""
        if not self.candidates:
            return False
        top = self.candidates[0]
        if top.by_id:
            return len([c for c in self.candidates if c.by_id]) == 1
        runner_up = self.candidates[1].score if len(self.candidates) > 1 else 0.0
        return top.score >= CONFIDENT_SCORE and top.score - runner_up >= CONFIDENT_MARGIN


def find_by_ids(session: Session, read_ids: list[str], tenants: set[str] | None) -> list[Candidate]:
    """Requests whose id is one the screenshot shows, tolerating OCR's 0/O and 1/l confusions."""
    variants: list[str] = []
    for read_id in read_ids:
        variants.extend(id_variants(read_id))
    row_ids = store.list_by_request_ids(session=session, request_ids=variants, tenants=tenants)
    rows = store.get_rows(session=session, ids=row_ids, tenants=tenants)
    folded = {fold_confusables(read_id) for read_id in read_ids}
    found = [
        Candidate(request, body, 100.0, by_id=True)
        for request, body in rows.values()
        if fold_confusables(request.request_id) in folded
    ]
    return sorted(found, key=lambda c: (c.request.request_id not in read_ids, -c.request.ts_ms))


def _last_question(body: RequestBody | None) -> str | None:
    if body is None or not body.prompt:
        return None
    try:
        prompt = orjson.loads(body.prompt)
    except orjson.JSONDecodeError:
        return None
    messages = prompt.get("messages") if isinstance(prompt, dict) else None
    users = [m.get("content") for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users and isinstance(users[-1], str) else None


@dataclass(frozen=True)
class _Read:
    answer: str
    digits: list[str]
    question: str | None
    minute: int | None


def score_candidate(read: _Read, request: LLMRequest, body: RequestBody | None) -> float:
    """0-100: the answer's fuzzy match (a crop matches a part), its numbers found, the question, the minute shown."""
    response = normal(body.response or "") if body is not None else ""
    if not response:
        return 0.0
    text = fuzz.ratio(read.answer, response)
    if len(read.answer) < len(response):
        text = max(text, fuzz.partial_ratio(read.answer, response) * 0.98)
    parts = [(text, 0.8)]
    if read.digits:
        present = set(response.split())
        parts.append((100.0 * sum(d in present for d in read.digits) / len(read.digits), 0.2))
    else:
        parts.append((text, 0.2))
    if read.question:
        asked = _last_question(body)
        parts.append((fuzz.ratio(read.question, normal(asked)) if asked else 0.0, 0.1))
    score = sum(value * weight for value, weight in parts) / sum(weight for _, weight in parts)
    if read.minute is not None and (request.ts_ms // 60_000) % 60 == read.minute:
        score += 0.5
    return min(score, 100.0)


def match_text(
    session: Session,
    answer: str,
    *,
    question: str | None,
    tenants: set[str] | None,
    timestamps: list[str] | None = None,
    now: datetime,
) -> MatchResult:
    """Candidates from the database's text index for the rarest phrases read, re-ranked with rapidfuzz."""
    tokens = words(answer)[:400]
    if len(tokens) < MIN_WORDS:
        return MatchResult()
    counts = store.count_terms(session=session, terms=tokens)
    phrases = choose_phrases(tokens, counts, limit=PHRASES)
    hint = time_hint(timestamps or [], now)
    ids: list[int] = []
    if hint.since is not None:
        ids = store.search_phrases(
            session=session,
            phrases=phrases,
            tenants=tenants,
            since_ms=int(hint.since.timestamp() * 1000),
            until_ms=int(hint.until.timestamp() * 1000) if hint.until else None,
            limit=CANDIDATES,
        )
    if not ids:
        ids = store.search_phrases(session=session, phrases=phrases, tenants=tenants, limit=CANDIDATES)
    rows = store.get_rows(session=session, ids=ids, tenants=tenants)
    read = _Read(
        answer=" ".join(tokens),
        digits=[t for t in tokens if any(c.isdigit() for c in t)],
        question=normal(question) if question else None,
        minute=hint.minute,
    )
    scored = [
        Candidate(request, body, round(score_candidate(read, request, body), 1)) for request, body in rows.values()
    ]
    scored = [c for c in scored if c.score >= MIN_SCORE]
    scored.sort(key=lambda c: (-c.score, -c.request.ts_ms))
    return MatchResult(candidates=scored[:SHOWN], phrases=phrases, searched=len(rows))


def match_screenshot(session: Session, read: ScreenshotText, *, tenants: set[str] | None, now: datetime) -> MatchResult:
    """An id shown in the screenshot wins; otherwise the answer (or all text read) is matched by content."""
    if read.request_ids:
        by_id = find_by_ids(session, read.request_ids, tenants)
        if by_id:
            return MatchResult(candidates=by_id[:SHOWN], searched=len(by_id))
    answer = read.answer if len(words(read.answer)) >= MIN_WORDS else read.raw_text
    return match_text(session, answer, question=read.question, tenants=tenants, timestamps=read.timestamps, now=now)
