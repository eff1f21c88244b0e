"""A deterministic model of an AI feature's traffic by tenant, intent and path, for the demo, tests and bench.

Each minute every intent gets its requests spread over tenants; a fallback path takes a share of
an intent that may follow a curve over time. Counts per minute are exact (error diffusion, no
sampling), so a test knows to the minute when a share crossed its line.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "stark")
INTENTS = ("billing_question", "order_status", "product_search", "account_help")
PATHS = {"fast": 450.0, "cached": 120.0}
FALLBACK = "deep_rag"
FALLBACK_MEDIAN_MS = 2600.0


@dataclass
class World:
    """Per-minute traffic: ``per_minute`` requests per intent, a fallback share per (intent, minute)."""

    per_minute: int = 24
    baseline_share: float = 0.03
    share_of: dict[str, Callable[[int], float]] = field(default_factory=dict)
    """intent -> share of the fallback path as a function of the minute (epoch seconds)."""
    seed: int = 17
    error_rate: float = 0.004

    def share(self, intent: str, minute: int) -> float:
        curve = self.share_of.get(intent)
        return curve(minute) if curve else self.baseline_share

    def counts(self, start: int, end: int) -> Iterator[tuple[int, str, int, int]]:
        """(minute, intent, requests, of which on the fallback path), with exact running shares."""
        carry: dict[str, float] = {}
        for minute in range(start, end, 60):
            for intent in INTENTS:
                want = self.share(intent, minute) * self.per_minute + carry.get(intent, 0.0)
                k = math.floor(want)
                carry[intent] = want - k
                yield minute, intent, self.per_minute, min(k, self.per_minute)

    def rows(self, start: int, end: int) -> Iterator[dict[str, Any]]:
        """Request rows as ingestion folds them into rollups (no bodies)."""
        rng = random.Random(self.seed ^ start)
        for minute, intent, n, k in self.counts(start, end):
            for i in range(n):
                path = FALLBACK if i < k else ("fast" if rng.random() < 0.8 else "cached")
                median = FALLBACK_MEDIAN_MS if path == FALLBACK else PATHS[path]
                latency = median * math.exp(rng.gauss(0, 0.45))
                status = "error" if rng.random() < self.error_rate else "ok"
                yield row(
                    ts_ms=minute * 1000 + rng.randrange(60_000),
                    tenant=TENANTS[rng.randrange(len(TENANTS))],
                    intent=intent,
                    path=path,
                    latency_ms=latency,
                    status=status,
                )


def row(
    *,
    ts_ms: int,
    tenant: str,
    intent: str,
    path: str,
    latency_ms: float | None,
    status: str = "ok",
    model: str = "gpt-4o-mini",
) -> dict[str, Any]:
    """One request as the rollup fold reads it."""
    return {
        "ts_ms": ts_ms,
        "tenant": tenant,
        "intent": intent,
        "category": intent,
        "path": path,
        "prompt_version": "v1",
        "model": model,
        "api_key_id": "",
        "input_tokens": 500,
        "output_tokens": 150,
        "cached_tokens": 0,
        "cost_usd": 0.0004,
        "latency_ms": latency_ms,
        "status": status,
        "refused": False,
        "attempt": 1,
    }


def ramp(start: int, end: int, lo: float, hi: float) -> Callable[[int], float]:
    """A share climbing linearly from ``lo`` at ``start`` to ``hi`` at ``end``, flat outside."""

    def curve(minute: int) -> float:
        if minute <= start:
            return lo
        if minute >= end:
            return hi
        return lo + (hi - lo) * (minute - start) / (end - start)

    return curve


def true_crossing(
    world: World, intent: str, start: int, end: int, threshold: float, long_minutes: int = 60
) -> int | None:
    """The first minute whose trailing ``long_minutes`` window has the fallback above ``threshold``."""
    window: list[tuple[int, int]] = []
    for minute, name, n, k in world.counts(start, end):
        if name != intent:
            continue
        window.append((k, n))
        window = window[-long_minutes:]
        if sum(k for k, _ in window) / sum(n for _, n in window) > threshold:
            return minute
    return None
