"""The statistics behind refusal-shift alarms: a Bernoulli CUSUM on batched counts, and Wilson intervals.

Why CUSUM: the detector looks every few minutes, forever. A fixed-horizon test repeated at every look
raises false alarms at a rate that grows with the number of looks; a CUSUM accumulates evidence
(the log-likelihood ratio of "rate = ratio x baseline" against "rate = baseline") and alarms when it
crosses a threshold chosen for a long average run length under no change, however often it is read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ShiftParams:
    """Knobs of the shift test; the defaults were chosen with bench/refusal_sim.py."""

    ratio: float = 2.0
    """The change the test is tuned to detect fastest (p1 = ratio x p0); smaller rises are found more slowly."""
    threshold: float = 15.0
    """CUSUM decision threshold in nats: higher is fewer false alarms and later detection."""
    cap: float = 22.5
    """Ceiling on the CUSUM, so it falls back below the threshold soon after the rate recovers."""
    clear_below: float = 4.0
    """An open alarm resolves once the CUSUM has fallen below this (hysteresis: no flapping)."""
    floor_rate: float = 0.002
    """Baselines below this are raised to it: a category that never refused is not alarmed by 3 refusals."""
    min_baseline_requests: int = 2000
    min_after_requests: int = 300
    min_after_refusals: int = 10


@dataclass(frozen=True)
class CusumResult:
    """Where the CUSUM ends, its peak, and where its current excursion began (an index into the series)."""

    score: float
    peak: float
    start: int | None
    after_requests: int
    after_refusals: int


def llr_weights(p0: float, ratio: float) -> tuple[float, float]:
    """Evidence added by one refused and by one answered request, for rate p0 against ratio x p0."""
    p1 = min(ratio * p0, 0.999)
    return math.log(p1 / p0), math.log((1 - p1) / (1 - p0))


def cusum(counts: Sequence[tuple[int, int]], p0: float, params: ShiftParams) -> CusumResult:
    """Run the capped one-sided CUSUM over (requests, refusals) per bucket, oldest first."""
    a, b = llr_weights(p0, params.ratio)
    score = peak = 0.0
    start: int | None = None
    after_n = after_k = 0
    for i, (n, k) in enumerate(counts):
        score = min(params.cap, max(0.0, score + k * a + (n - k) * b))
        if score == 0.0:
            start, after_n, after_k = None, 0, 0
            continue
        if start is None:
            start = i
        after_n += n
        after_k += k
        peak = max(peak, score)
    return CusumResult(score=score, peak=peak, start=start, after_requests=after_n, after_refusals=after_k)


def is_shift(result: CusumResult, params: ShiftParams, *, open_alarm: bool) -> bool:
    """Fire at the threshold with enough volume since the change; an open alarm holds until the CUSUM clears."""
    if open_alarm:
        return result.score >= params.clear_below
    return (
        result.score >= params.threshold
        and result.after_requests >= params.min_after_requests
        and result.after_refusals >= params.min_after_refusals
    )


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion: sane at small counts and rates near zero."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def baseline_rate(requests: int, refusals: int, params: ShiftParams, *, margin_z: float = 0.0) -> float | None:
    """The rate the CUSUM compares against, or None when the baseline is too thin to trust.

    ``margin_z`` > 0 takes the upper end of the rate's one-sided interval (Wilson): a short baseline's
    rate is uncertain, and an underestimate would read ordinary traffic as a rise.
    """
    if requests < params.min_baseline_requests:
        return None
    rate = refusals / requests if margin_z <= 0 else wilson(refusals, requests, z=margin_z)[1]
    return min(max(rate, params.floor_rate), 0.45)
