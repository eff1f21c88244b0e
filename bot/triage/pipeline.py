"""From image bytes (or text, or an id) to the triage card data; Slack, the CLI, the demo and the bench share it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from PIL import Image

from bot.errors import UserError
from bot.scope import scope_for_channel
from bot.services import Services
from bot.triage.blast import BlastRadius, blast_radius
from bot.triage.extract import DEFAULT_ID_PATTERNS, ScreenshotText, extract
from bot.triage.images import MB, load_image
from bot.triage.match import Candidate, MatchResult, find_by_ids, match_screenshot, match_text
from bot.triage.ocr import OcrLine, read_text
from bot.triage.triple import Triple, load_triple
from storage import triage as store

MAX_IMAGE_BYTES = 10 * MB
MAX_PIXELS = 40_000_000
MAX_QUERY_CHARS = 4000

Kind = Literal["match", "unsure", "not_found"]
Reader = Callable[[Image.Image], list[OcrLine]]


@dataclass
class TriageOutcome:
    """What triage found: a match with its triple and blast radius, a short list to pick from, or nothing."""

    kind: Kind
    result: MatchResult
    tenants: set[str] | None
    read: ScreenshotText | None = None
    query: str | None = None
    triple: Triple | None = None
    blast: BlastRadius | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def best(self) -> Candidate | None:
        return self.result.best


def tenants_for_channel(services: Services, channel_id: str | None) -> set[str] | None:
    """A channel mapped to one tenant in ``[channels].tenant_channels`` sees only that tenant; others see all."""
    return scope_for_channel(services, channel_id).tenants


def id_patterns(services: Services) -> list[str]:
    return services.settings.file.request_id_patterns or DEFAULT_ID_PATTERNS


def _conclude(
    services: Services, result: MatchResult, tenants: set[str] | None, now: datetime, timings: dict[str, float]
) -> tuple[Kind, Triple | None, BlastRadius | None]:
    if not result.candidates:
        return "not_found", None, None
    if not result.confident:
        return "unsure", None, None
    best = result.candidates[0]
    started = time.perf_counter()
    services.db.searchable()
    with services.db.session() as session:
        triple = load_triple(session, best.request, best.body)
        blast = blast_radius(session, best.request, best.body, tenants=tenants, now=now)
    timings["card_data"] = (time.perf_counter() - started) * 1000
    return "match", triple, blast


def triage_image(
    services: Services, data: bytes, *, tenants: set[str] | None, now: datetime, reader: Reader = read_text
) -> TriageOutcome:
    """Decode and check the upload, read it offline, extract the answer and ids, match, and gather the card data."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    image = load_image(data, max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_PIXELS)
    timings["decode"] = (time.perf_counter() - started) * 1000
    mark = time.perf_counter()
    lines = reader(image)
    timings["ocr"] = (time.perf_counter() - mark) * 1000
    read = extract(lines, id_patterns=id_patterns(services))
    mark = time.perf_counter()
    services.db.searchable()
    with services.db.session() as session:
        result = match_screenshot(session, read, tenants=tenants, now=now)
    timings["match"] = (time.perf_counter() - mark) * 1000
    kind, triple, blast = _conclude(services, result, tenants, now, timings)
    timings["total"] = (time.perf_counter() - started) * 1000
    return TriageOutcome(kind, result, tenants, read=read, triple=triple, blast=blast, timings_ms=timings)


def triage_text(services: Services, text: str, *, tenants: set[str] | None, now: datetime) -> TriageOutcome:
    """Match text someone typed (what the AI said), as if it had been read off a screenshot."""
    text = text.strip()
    if not text:
        raise UserError('say what the AI said: /triage "some words of the answer"')
    if len(text) > MAX_QUERY_CHARS:
        raise UserError(
            f"that text is {len(text)} characters; paste at most {MAX_QUERY_CHARS} (one paragraph is enough)"
        )
    services.db.searchable()
    with services.db.session() as session:
        result = match_text(session, text, question=None, tenants=tenants, now=now, typed=True)
    kind, triple, blast = _conclude(services, result, tenants, now, {})
    return TriageOutcome(kind, result, tenants, query=text, triple=triple, blast=blast)


def triage_request_id(services: Services, request_id: str, *, tenants: set[str] | None, now: datetime) -> TriageOutcome:
    """Look a request up by its id (OCR-style confusions tolerated); several tenants with that id means pick one."""
    with services.db.session() as session:
        found = find_by_ids(session, [request_id], tenants)
    result = MatchResult(candidates=found[:10], searched=len(found))
    kind, triple, blast = _conclude(services, result, tenants, now, {})
    return TriageOutcome(kind, result, tenants, query=request_id, triple=triple, blast=blast)


def triage_row(services: Services, row_id: int, *, tenants: set[str] | None, now: datetime) -> TriageOutcome:
    """The card for a candidate someone picked from the short list; a row outside the tenants is not found."""
    with services.db.session() as session:
        rows = store.get_rows(session=session, ids=[row_id], tenants=tenants)
    found = [Candidate(request, body, 100.0, by_id=True) for request, body in rows.values()]
    result = MatchResult(candidates=found, searched=len(found))
    kind, triple, blast = _conclude(services, result, tenants, now, {})
    return TriageOutcome(kind, result, tenants, query=f"#{row_id}", triple=triple, blast=blast)


def triage_query(services: Services, text: str, *, tenants: set[str] | None, now: datetime) -> TriageOutcome:
    """``/triage <request_id>`` or ``/triage "text"``: a single token that looks like an id is looked up first."""
    stripped = text.strip()
    quoted = len(stripped) >= 2 and stripped[0] in "\"“'" and stripped[-1] in "\"”'"
    if quoted:
        return triage_text(services, stripped[1:-1], tenants=tenants, now=now)
    token_like = re.fullmatch(r"[\w.:#/-]{4,200}", stripped) is not None
    if token_like:
        outcome = triage_request_id(services, stripped, tenants=tenants, now=now)
        if outcome.result.candidates or any(re.fullmatch(p, stripped) for p in id_patterns(services)):
            return outcome
    return triage_text(services, stripped, tenants=tenants, now=now)
