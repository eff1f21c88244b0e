"""Path-share arithmetic on per-minute counts: trailing-window shares and when a share crossed a line.

Plain functions over lists, so the alarm's timing can be checked minute by minute without a
database. A series is aligned on minutes: ``part[i]`` and ``total[i]`` count minute ``first + 60*i``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from storage import histogram


@dataclass(frozen=True)
class MinuteSeries:
    """Requests of one path and of its whole intent, per minute from ``first`` (epoch seconds)."""

    first: int
    part: list[int]
    total: list[int]

    @classmethod
    def build(cls, first: int, end: int, counts: Iterable[tuple[int, int, int]]) -> MinuteSeries:
        """From (minute, part, total) triples; minutes without traffic count zero."""
        n = max(0, (end - first) // 60)
        part, total = [0] * n, [0] * n
        for minute, p, t in counts:
            i = (minute - first) // 60
            if 0 <= i < n:
                part[i] += p
                total[i] += t
        return cls(first, part, total)

    def window(self, end_index: int, minutes: int) -> tuple[int, int]:
        """(part, total) over the ``minutes`` minutes ending with minute ``end_index`` (inclusive)."""
        lo = max(0, end_index - minutes + 1)
        return sum(self.part[lo : end_index + 1]), sum(self.total[lo : end_index + 1])

    def rolling_shares(self, minutes: int) -> list[float | None]:
        """The trailing ``minutes``-minute share at every minute (None where the window saw nothing)."""
        cp = [0, *accumulate(self.part)]
        ct = [0, *accumulate(self.total)]
        out: list[float | None] = []
        for i in range(len(self.part)):
            lo = max(0, i - minutes + 1)
            t = ct[i + 1] - ct[lo]
            out.append((cp[i + 1] - cp[lo]) / t if t else None)
        return out


def share(part: int, total: int) -> float:
    return part / total if total else 0.0


def crossing_index(shares: Sequence[float | None], threshold: float) -> int | None:
    """The first minute of the run of minutes, ending at the last one, whose share is above ``threshold``.

    None when the last minute is not above it. A minute with no traffic neither ends nor extends
    the run: it carries the run on, so a quiet minute does not move the crossing.
    """
    i = len(shares) - 1
    while i >= 0 and shares[i] is None:
        i -= 1
    if i < 0 or (shares[i] or 0.0) <= threshold:
        return None
    start = i
    while i >= 0:
        s = shares[i]
        if s is not None and s <= threshold:
            break
        if s is not None:
            start = i
        i -= 1
    return start


def count_above(counts: Mapping[int, int], limit_ms: float) -> int:
    """Requests of a histogram slower than ``limit_ms`` (bucket representatives above it)."""
    return sum(n for b, n in counts.items() if histogram.bucket_value(b) > limit_ms)
