"""Rollup rows folded into groups with merged histograms: every percentile ``/latency`` and the detector show."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
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

    def add_counts(self, row: LatencyRow, ttft: dict[str, int] | None = None) -> None:
        """Add a row's counts (and its first-token histogram, keys as decoded until ``fold`` ends)."""
        self.requests += row.requests
        self.errors += row.errors
        self.timeouts += row.timeouts
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
    """One pass over the rows filling one grouping per key function (a key of None skips the row).

    Each row's histogram is decoded once whatever the number of groupings, and the merging is
    one ``numpy.bincount`` per grouping over every (group, bucket) pair: a 7-day view folds tens
    of thousands of hourly histograms, which a dictionary update per bucket made the slowest part.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    out: list[dict[Hashable, Group]] = [{} for _ in keys]
    members: list[list[Group]] = [[] for _ in keys]
    ids: list[list[int]] = [[] for _ in keys]
    index: list[dict[Hashable, int]] = [{} for _ in keys]
    names: list[list[str]] = []
    counts: list[int] = []
    sizes: list[int] = []
    loads = orjson.loads
    for row in rows:
        if row.hist and row.hist != "{}":
            decoded = loads(row.hist)
            names.extend(decoded)
            counts.extend(decoded.values())
            sizes.append(len(decoded))
        else:
            sizes.append(0)
        ttft = loads(row.ttft) if row.ttft and row.ttft != "{}" else None
        for j, key_of in enumerate(keys):
            key = key_of(row)
            if key is None:
                ids[j].append(-1)
                continue
            number = index[j].get(key)
            if number is None:
                number = index[j][key] = len(members[j])
                out[j][key] = Group()
                members[j].append(out[j][key])
            ids[j].append(number)
            members[j][number].add_counts(row, ttft)
    for groups in members:
        for group in groups:
            if group.ttft:
                group.ttft = {int(k): n for k, n in group.ttft.items()}
    if names:
        _merge_histograms(names, counts, sizes, ids, members)
    return out


def _merge_histograms(
    names: list[str], counts: list[int], sizes: list[int], ids: list[list[int]], members: list[list[Group]]
) -> None:
    buckets = np.array(names).astype(np.int64)
    zero = buckets == histogram.ZERO_BUCKET
    low = int(buckets[~zero].min()) if (~zero).any() else 0
    column = np.where(zero, 0, buckets - low + 1)
    width = int(column.max()) + 1
    weights = np.array(counts, dtype=np.float64)
    row_of = np.repeat(np.arange(len(sizes)), sizes)
    for group_ids, groups in zip(ids, members, strict=True):
        if not groups:
            continue
        g = np.array(group_ids, dtype=np.int64)[row_of]
        keep = g >= 0
        sums = np.bincount(g[keep] * width + column[keep], weights=weights[keep], minlength=len(groups) * width)
        sums = sums.reshape(len(groups), width)
        for i, group in enumerate(groups):
            nz = np.nonzero(sums[i])[0]
            group.hist = {
                (histogram.ZERO_BUCKET if c == 0 else c + low - 1): int(n)
                for c, n in zip(nz.tolist(), sums[i, nz].tolist(), strict=True)
            }


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
