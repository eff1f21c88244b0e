"""Rollup rows folded into groups with merged histograms: every percentile ``/latency`` and the detector show."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import orjson

from storage import histogram
from storage.latency import LatencyRow

PROVIDER_PREFIXES = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt", "openai"),
    ("text-embedding", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google"),
    ("mistral", "mistral"),
    ("codestral", "mistral"),
    ("llama", "meta"),
    ("command", "cohere"),
)


def provider_of(model: str) -> str:
    """The provider behind a model name: rollups keep the model, and its family names the provider.

    A ``provider/model`` name (as routers write them) gives its provider directly.
    """
    name = model.lower()
    if "/" in name:
        return name.split("/", 1)[0]
    return next((p for prefix, p in PROVIDER_PREFIXES if name.startswith(prefix)), name or "(unknown)")


@dataclass
class Group:
    """Counts and the merged latency histogram of one group of rollup rows."""

    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    hist: dict[int, int] = field(default_factory=dict)
    ttft: dict[int, int] = field(default_factory=dict)
    """Time to first token, for the requests that report it."""

    def add(self, row: LatencyRow, counts: dict[str, int], ttft: dict[str, int] | None = None) -> None:
        """Add a row; its histogram keys stay as decoded (strings) until ``fold`` finishes."""
        self.requests += row.requests
        self.errors += row.errors
        self.timeouts += row.timeouts
        hist: dict = self.hist
        get = hist.get
        for k, n in counts.items():
            hist[k] = get(k, 0) + n
        if ttft:
            t: dict = self.ttft
            for k, n in ttft.items():
                t[k] = t.get(k, 0) + n

    def merge(self, other: Group) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.timeouts += other.timeouts
        for mine, theirs in ((self.hist, other.hist), (self.ttft, other.ttft)):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n

    def percentile(self, q: float) -> float | None:
        return histogram.quantile(self.hist, q)

    def ttft_percentile(self, q: float) -> float | None:
        return histogram.quantile(self.ttft, q)

    @property
    def measured(self) -> int:
        return sum(self.hist.values())


def dimension_value(row: LatencyRow, dim: str) -> str:
    """A row's value for a ``/latency`` grouping; ``provider`` comes from the model."""
    return provider_of(row.model) if dim == "provider" else getattr(row, dim)


def fold(rows: Iterable[LatencyRow], *keys: Callable[[LatencyRow], Hashable]) -> list[dict[Hashable, Group]]:
    """One pass over the rows filling one grouping per key function (a key of None skips the row);
    each row's histogram is decoded once whatever the number of groupings."""
    out: list[dict[Hashable, Group]] = [{} for _ in keys]
    loads = orjson.loads
    for row in rows:
        counts = loads(row.hist) if row.hist and row.hist != "{}" else {}
        ttft = loads(row.ttft) if row.ttft and row.ttft != "{}" else None
        for groups, key_of in zip(out, keys, strict=True):
            key = key_of(row)
            if key is None:
                continue
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group()
            group.add(row, counts, ttft)
    for groups in out:
        for group in groups.values():
            group.hist = {int(k): n for k, n in group.hist.items()}
            if group.ttft:
                group.ttft = {int(k): n for k, n in group.ttft.items()}
    return out


def regroup(groups: dict[Hashable, Group], key: Callable[[Hashable], Hashable | None]) -> dict[Hashable, Group]:
    """Coarser groups from finer ones (cohorts into paths, tenants, the total) by merging their histograms."""
    out: dict[Hashable, Group] = {}
    for k, g in groups.items():
        target = key(k)
        if target is None:
            continue
        acc = out.get(target)
        if acc is None:
            acc = out[target] = Group()
        acc.merge(g)
    return out
