"""Which logged request the screenshot shows: an id first, else text-index candidates re-ranked fuzzily."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

import orjson
from rapidfuzz import fuzz
from sqlmodel import Session

from bot.triage.extract import ScreenshotText, fold_confusables
from bot.triage.hints import choose_phrases, id_variants, normal, time_hint, words
from storage import triage as store
from storage.models import LLMRequest, RequestBody
from storage.texttokens import has_spaceless

CANDIDATES = 200
"""Rows re-ranked per search: 50 found only 82% of the answers text can pin down, 200 found them all (issue 5)."""
PHRASES = 12
TERM_SAMPLE = 200
"""Rows read per word to rank words by rarity (exact below this, estimated above)."""
LOOKUP_WORDS = 20_000
"""A phrase is looked up on its own when one of its words is in fewer responses than this (a bounded cost)."""
PHRASE_ROWS = 1000
"""A phrase in more responses than this says little about which one was read: it only narrows."""
CONFIDENT_SCORE = 80.0
CONFIDENT_MARGIN = 2.0
MIN_SCORE = 55.0
MIN_WORDS = 3
MIN_TYPED_WORDS = 2
MIN_PREFIX = 4
"""Letters a word needs before it is looked up alone as a prefix: shorter ones begin too many words."""
"""A quote typed on purpose ("order A51234 was") can be two words: one pair is still a phrase to look up."""
SHOWN = 10
_NUMBER = re.compile(r"\d+")
"""Numbers tell near-duplicates of one template apart, in any script (``尾号3759的`` holds ``3759``)."""
_NUMBER_AT_END = re.compile(r"\d$")
_NUMBER_AT_START = re.compile(r"^\d")


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


def _last_question(prompt_json: str | None) -> str | None:
    if not prompt_json:
        return None
    try:
        prompt = orjson.loads(prompt_json)
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


def score_candidate(read: _Read, row: store.MatchText) -> float:
    """0-100: the answer's fuzzy match (a crop matches a part), its numbers found, the question, the minute shown."""
    response = normal(row.response or "")
    if not response:
        return 0.0
    text = fuzz.ratio(read.answer, response)
    if len(read.answer) < len(response):
        text = max(text, fuzz.partial_ratio(read.answer, response) * 0.98)
    parts = [(text, 0.8)]
    if read.digits:
        said = _NUMBER.findall(response)
        present = set(said)
        found = sum(d in present for d in read.digits)
        # A quote cut mid-number ("…order E158") holds the start of the last number and the end of the first.
        if read.digits[-1] not in present and _NUMBER_AT_END.search(read.answer):
            found += any(w.startswith(read.digits[-1]) for w in said)
        if len(read.digits) > 1 and read.digits[0] not in present and _NUMBER_AT_START.match(read.answer):
            found += any(w.endswith(read.digits[0]) for w in said)
        parts.append((100.0 * found / len(read.digits), 0.2))
    else:
        parts.append((text, 0.2))
    if read.question:
        asked = _last_question(row.prompt)
        parts.append((fuzz.ratio(read.question, normal(asked)) if asked else 0.0, 0.1))
    score = sum(value * weight for value, weight in parts) / sum(weight for _, weight in parts)
    if read.minute is not None and (row.ts_ms // 60_000) % 60 == read.minute:
        score += 0.5
    return min(score, 100.0)


class Window(TypedDict, total=False):
    """The day window a screenshot's timestamps allow, in epoch milliseconds (either end may be open)."""

    since_ms: int
    until_ms: int


def _cheap_lookup(phrase: str, counts: dict[str, int] | None) -> bool:
    """Whether the text index finds the phrase's rows cheaply: it walks the list of the phrase's rarest word."""
    return counts is None or min(counts.get(word, 0) for word in phrase.split()) < LOOKUP_WORDS


def find_candidates(
    session: Session, phrases: list[str], counts: dict[str, int] | None, *, tenants: set[str] | None, window: Window
) -> list[int]:
    """Row ids worth a fuzzy re-rank, best first, each text-index query bounded so none walks a template's rows.

    Phrases few responses hold are looked up whole; each row they return earns a vote, more for rarer
    phrases, so the row holding most of what was read comes first whatever a misread word adds. When
    more rows share the lead than the re-rank takes (one rare phrase held by hundreds of rows, say),
    they are told apart by how many of all the phrases read (common ones too) their answers hold;
    a lead shared by fewer needs nothing more, since the re-rank reads them all anyway. Text holding
    no rare phrase at all is narrowed by adding phrases one at a time (``p1 AND p2 ...``), skipping
    any that would leave nothing.
    """
    votes: dict[int, float] = {}
    common: list[str] = []
    for phrase in phrases:
        if not _cheap_lookup(phrase, counts):
            common.append(phrase)
            continue
        ids = store.list_phrase_rows(
            session=session, phrases=[phrase], tenants=tenants, **window, limit=PHRASE_ROWS + 1
        )
        if len(ids) > PHRASE_ROWS:
            common.append(phrase)
            continue
        weight = 1.0 + math.log(PHRASE_ROWS / max(1, len(ids)))
        for row_id in ids:
            votes[row_id] = votes.get(row_id, 0.0) + weight
    if votes:
        ranked = sorted(votes, key=lambda row_id: -votes[row_id])
        leaders = [row_id for row_id in ranked if votes[row_id] >= votes[ranked[0]] - 1e-9]
        if len(leaders) > CANDIDATES:
            ranked = _by_phrases_held(session, leaders, phrases, tenants=tenants)
        return ranked[:CANDIDATES]
    chosen: list[str] = []
    found: list[int] = []
    for phrase in common:
        ids = store.list_phrase_rows(
            session=session, phrases=[*chosen, phrase], tenants=tenants, **window, limit=CANDIDATES + 1
        )
        if ids:
            chosen.append(phrase)
            found = ids
            if len(ids) <= CANDIDATES:
                break
    return found[:CANDIDATES]


def _by_phrases_held(session: Session, ids: list[int], phrases: list[str], *, tenants: set[str] | None) -> list[int]:
    """Order rows by how many of the phrases read their answer holds (read here, not asked of the index).

    Asking the text index which of a thousand rows hold a common phrase costs 30-50 ms per phrase at
    a million rows; reading those answers once and looking for every phrase costs that in all.
    """
    held: dict[int, int] = {}
    for row in store.list_match_texts(session=session, ids=ids, tenants=tenants, with_prompt=False):
        padded = f" {' '.join(words(row.response or ''))} "
        held[row.id] = sum(f" {phrase} " in padded for phrase in phrases)
    return sorted(held, key=lambda row_id: -held[row_id])


def match_text(
    session: Session,
    answer: str,
    *,
    question: str | None,
    tenants: set[str] | None,
    timestamps: list[str] | None = None,
    now: datetime,
    typed: bool = False,
) -> MatchResult:
    """Candidates from the database's text index for the rarest phrases read, re-ranked with rapidfuzz.

    Text someone ``typed`` on purpose is a verbatim quote and may be as short as two words; OCR output
    needs three, so stray labels never start a search.
    """
    tokens = words(answer)[:400]
    if len(tokens) < (MIN_TYPED_WORDS if typed else MIN_WORDS):
        return MatchResult()
    quoted = None
    if typed:
        quoted = store.list_quote_rows(session=session, quote=answer.strip(), tenants=tenants, limit=CANDIDATES)
        if quoted is None:
            quoted = _whole_quote_rows(session, tokens, tenants=tenants)
    if quoted:
        return _ranked(session, answer, quoted, question=question, tenants=tenants, minute=None, phrases=[])
    counts = store.count_terms(session=session, terms=tokens, sample=TERM_SAMPLE)
    phrases = choose_phrases(tokens, counts, limit=PHRASES)
    if len(tokens) >= 2 and not has_spaceless(tokens[-1]):
        # Text read or typed may stop mid-word ("…order e158"): its last word is looked up as a prefix.
        phrases.append(f"{tokens[-2]} {tokens[-1]}{store.PREFIX}")
        if typed and len(tokens[-1]) >= MIN_PREFIX:
            # ...and start mid-word too ("der b85632" of "order b85632"), so the last word also stands alone.
            phrases.append(f"{tokens[-1]}{store.PREFIX}")
    hint = time_hint(timestamps or [], now)
    ids: list[int] = []
    if hint.since is not None:
        window = Window(since_ms=int(hint.since.timestamp() * 1000))
        if hint.until is not None:
            window["until_ms"] = int(hint.until.timestamp() * 1000)
        ids = find_candidates(session, phrases, counts, tenants=tenants, window=window)
    if not ids:
        ids = find_candidates(session, phrases, counts, tenants=tenants, window=Window())
    return _ranked(session, answer, ids, question=question, tenants=tenants, minute=hint.minute, phrases=phrases)


def _whole_quote_rows(session: Session, tokens: list[str], *, tenants: set[str] | None) -> list[int]:
    """Rows holding every word of a quote in order, from the text index, when few enough to re-rank them all.

    A quote typed on purpose is verbatim, but its first word may be the end of a longer one and its last
    the start of one ("der b85632" of "order b85632"): the rest must appear as it stands, the last as
    a prefix. Held by more rows than the re-rank takes, it says too little and the phrase votes decide.
    """
    rest = tokens[1:]
    if not rest or (len(rest) == 1 and len(rest[0]) < MIN_PREFIX):
        return []
    ids = store.list_phrase_rows(
        session=session, phrases=[" ".join(rest) + store.PREFIX], tenants=tenants, limit=CANDIDATES + 1
    )
    return ids if len(ids) <= CANDIDATES else []


def _ranked(
    session: Session,
    answer: str,
    ids: list[int],
    *,
    question: str | None,
    tenants: set[str] | None,
    minute: int | None,
    phrases: list[str],
) -> MatchResult:
    """The candidate rows re-ranked by how well each answer matches what was read."""
    shown_words = normal(answer).split()[:400]
    read = _Read(
        answer=" ".join(shown_words),
        digits=_NUMBER.findall(" ".join(shown_words)),
        question=normal(question) if question else None,
        minute=minute,
    )
    texts = store.list_match_texts(session=session, ids=ids, tenants=tenants, with_prompt=read.question is not None)
    scored = [(round(score_candidate(read, row), 1), row) for row in texts]
    scored = [(score, row) for score, row in scored if score >= MIN_SCORE]
    scored.sort(key=lambda item: (-item[0], -item[1].ts_ms))
    shown = scored[:SHOWN]
    rows = store.get_rows(session=session, ids=[row.id for _, row in shown], tenants=tenants)
    candidates = [Candidate(*rows[row.id], score) for score, row in shown if row.id in rows]
    return MatchResult(candidates=candidates, phrases=phrases, searched=len(texts))


def match_screenshot(session: Session, read: ScreenshotText, *, tenants: set[str] | None, now: datetime) -> MatchResult:
    """An id shown in the screenshot wins; otherwise the answer (or all text read) is matched by content."""
    if read.request_ids:
        by_id = find_by_ids(session, read.request_ids, tenants)
        if by_id:
            return MatchResult(candidates=by_id[:SHOWN], searched=len(by_id))
    answer = read.answer if len(words(read.answer)) >= MIN_WORDS else read.raw_text
    return match_text(session, answer, question=read.question, tenants=tenants, timestamps=read.timestamps, now=now)
