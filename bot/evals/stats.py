"""Wilson score intervals: honest at small counts and at rates near 0 or 1, where the normal interval lies."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    """A proportion with its 95% Wilson interval; ``rate`` is None when there is nothing to count."""

    good: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.good / self.total if self.total else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.good, self.total)


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of successes/trials; (0, 1) when there are no trials."""
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError(f"successes ({successes}) must lie in [0, trials ({trials})]")
    p = successes / trials
    z2 = z * z
    denom = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def disjoint_below(low: Rate, high: Rate) -> bool:
    """True when ``low``'s interval lies wholly below ``high``'s: the difference is not noise at 95% each."""
    return low.total > 0 and high.total > 0 and low.interval[1] < high.interval[0]
