"""The ``[latency]`` section: which paths are fallbacks, the share that makes one a primary path, budgets."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Millis = Annotated[float, Field(gt=0, le=3_600_000)]
PERCENTILE_KEYS = ("p50_ms", "p95_ms", "p99_ms")


class LatencyBudget(BaseModel):
    """Latency limits for an intent's traffic, or one path (or tenant) within it."""

    model_config = ConfigDict(extra="forbid")

    intent: Name
    path: Name | None = None
    tenant: Name | None = None
    p50_ms: Millis | None = None
    p95_ms: Millis | None = None
    p99_ms: Millis | None = None
    ttft_p95_ms: Millis | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LatencyBudget:
        given = [(k, getattr(self, k)) for k in PERCENTILE_KEYS if getattr(self, k) is not None]
        if not given and self.ttft_p95_ms is None:
            raise ValueError("give at least one of p50_ms, p95_ms, p99_ms or ttft_p95_ms")
        for (lo_key, lo), (hi_key, hi) in pairwise(given):
            if lo > hi:
                raise ValueError(f"{lo_key} ({lo:g}) is above {hi_key} ({hi:g}): a lower percentile cannot be slower")
        return self

    @property
    def scope(self) -> dict[str, str]:
        """The rollup filter this budget applies to."""
        out = {"intent": self.intent}
        if self.path:
            out["path"] = self.path
        if self.tenant:
            out["tenant"] = self.tenant
        return out

    def limits(self) -> dict[str, float]:
        """Percentile (0..1) -> limit in ms, for the latency percentiles this budget sets."""
        qs = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}
        return {qs[k]: getattr(self, k) for k in PERCENTILE_KEYS if getattr(self, k) is not None}

    def describe(self) -> str:
        parts = [f"intent={self.intent}"]
        if self.path:
            parts.append(f"path={self.path}")
        if self.tenant:
            parts.append(f"tenant={self.tenant}")
        return " ".join(parts)


class LatencyConfig(BaseModel):
    """Issue 17: fallback paths and their share threshold, the alarm windows, and latency budgets."""

    model_config = ConfigDict(extra="forbid")

    fallback_paths: list[Name] = Field(default_factory=list)
    fallback_share: float = Field(default=0.10, gt=0, lt=1)
    short_minutes: int = Field(default=15, ge=1, le=120)
    long_minutes: int = Field(default=60, ge=5, le=1440)
    min_requests: int = Field(default=40, ge=1, description="requests an intent needs in the short window")
    budgets: list[LatencyBudget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _windows(self) -> LatencyConfig:
        if self.short_minutes >= self.long_minutes:
            raise ValueError(f"short_minutes ({self.short_minutes}) must be below long_minutes ({self.long_minutes})")
        seen: set[tuple[str, str | None, str | None]] = set()
        for i, b in enumerate(self.budgets):
            key = (b.intent, b.path, b.tenant)
            if key in seen:
                raise ValueError(f"budgets[{i}] repeats the budget for {b.describe()}")
            seen.add(key)
        return self
