"""Which retrievals are the context of which model call: a pure function of a trace's spans.

A retrieval belongs to the first model call of its trace (and tenant) that starts after the
retrieval started and at most ``window`` after it ended. Recomputed from the stored spans on
every arrival, so the answer does not depend on which batch or replica brought which span.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

MAX_DOCS = 200  # the event API's limit on context entries


@dataclass(frozen=True)
class JoinSpan:
    tenant: str
    trace_id: str
    span_id: str
    kind: str
    start_ms: int
    end_ms: int
    request_id: str | None = None
    docs: tuple[Any, ...] = ()

    @cached_property
    def key(self) -> tuple[str, str, str]:
        return (self.tenant, self.trace_id, self.span_id)


def assign(spans: Iterable[JoinSpan], *, window_ms: int) -> dict[tuple[str, str, str], list[JoinSpan]]:
    """Model call key -> the retrievals that are its context, earliest first."""
    by_trace: dict[tuple[str, str], list[JoinSpan]] = defaultdict(list)
    for span in {s.key: s for s in spans}.values():
        by_trace[(span.tenant, span.trace_id)].append(span)
    out: dict[tuple[str, str, str], list[JoinSpan]] = {}
    for members in by_trace.values():
        if len(members) < 2:
            continue
        calls = sorted((s for s in members if s.kind == "llm"), key=lambda s: (s.start_ms, s.span_id))
        if not calls:
            continue
        for r in sorted((s for s in members if s.kind == "retrieval"), key=lambda s: (s.start_ms, s.span_id)):
            call = next((c for c in calls if c.start_ms >= r.start_ms and c.start_ms - r.end_ms <= window_ms), None)
            if call is not None:
                out.setdefault(call.key, []).append(r)
    return out


def context_of(retrievals: list[JoinSpan]) -> list[Any] | None:
    """The ``context`` list of the event API built from these retrievals' documents."""
    docs = [d for r in retrievals for d in r.docs][:MAX_DOCS]
    return docs or None
