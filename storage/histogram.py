"""Mergeable latency histograms with a bounded relative error.

Buckets are logarithmic (the DDSketch idea): bucket ``i`` holds values in
``(GAMMA**(i-1), GAMMA**i]``, and its representative value is within
``RELATIVE_ACCURACY`` of every value in it. Merging is adding counts, so
per-minute rollups can be combined into any window without raw rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import orjson

RELATIVE_ACCURACY = 0.005
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
ZERO_BUCKET = -(2**31)
"""Values at or below 1 microsecond (including 0) share one bucket that reports 0."""
_MIN_VALUE = 1e-3

Counts = dict[int, int]


def bucket_of(value: float) -> int:
    """The bucket a latency in milliseconds falls into."""
    if value <= _MIN_VALUE:
        return ZERO_BUCKET
    return math.ceil(math.log(value) / _LOG_GAMMA)


def bucket_value(index: int) -> float:
    """The value reported for a bucket: within RELATIVE_ACCURACY of anything in it."""
    if index == ZERO_BUCKET:
        return 0.0
    return 2 * GAMMA**index / (GAMMA + 1)


def from_values(values: Iterable[float]) -> Counts:
    counts: Counts = {}
    for v in values:
        b = bucket_of(v)
        counts[b] = counts.get(b, 0) + 1
    return counts


def merge(a: Mapping[int, int], b: Mapping[int, int]) -> Counts:
    out = dict(a)
    for k, n in b.items():
        out[k] = out.get(k, 0) + n
    return out


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0..1) with the lower-rank convention: element floor(q * (n - 1))."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = math.floor(q * (total - 1))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen > rank:
            return bucket_value(index)
    return bucket_value(max(counts))  # pragma: no cover - unreachable with consistent counts


def encode(counts: Mapping[int, int]) -> str:
    return orjson.dumps(counts, option=orjson.OPT_NON_STR_KEYS).decode()


def decode(text: str | None) -> Counts:
    if not text:
        return {}
    return {int(k): int(v) for k, v in orjson.loads(text).items()}


def merge_encoded(a: str | None, b: str | None) -> str:
    """SQL-callable merge: SQLite registers it per connection, PostgreSQL has its own twin."""
    if not a:
        return b or "{}"
    if not b:
        return a
    # SQLite calls this for every cohort a batch adds to: merge the decoded JSON objects as they
    # are (string keys, as `encode` writes them) instead of converting every key to int and back.
    out = orjson.loads(a)
    for k, n in orjson.loads(b).items():
        out[k] = out.get(k, 0) + n
    return orjson.dumps(out).decode()
