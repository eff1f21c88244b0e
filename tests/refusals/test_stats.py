"""The CUSUM and Wilson intervals on their own: fires on a doubling, silent on noise under repeated looks."""

from __future__ import annotations

import random

import pytest

from bot.refusals.stats import ShiftParams, baseline_rate, cusum, is_shift, wilson

PARAMS = ShiftParams()


def buckets(rng: random.Random, count: int, per_bucket: int, rate: float) -> list[tuple[int, int]]:
    out = []
    for _ in range(count):
        n = per_bucket + rng.randint(-per_bucket // 5, per_bucket // 5)
        out.append((n, sum(1 for _ in range(n) if rng.random() < rate)))
    return out


@pytest.mark.parametrize("p0", [0.01, 0.03, 0.05])
def test_fires_within_two_hours_of_a_doubling_at_2000_an_hour(p0: float) -> None:
    delays = []
    for seed in range(5):
        rng = random.Random(seed)
        series = buckets(rng, 60, 167, p0) + buckets(rng, 48, 167, 2 * p0)  # 5-minute buckets, 2,000/h
        fired = next(
            i for i in range(1, len(series) + 1) if is_shift(cusum(series[:i], p0, PARAMS), PARAMS, open_alarm=False)
        )
        assert fired > 60, f"seed {seed}: alarm before the change"
        delays.append((fired - 60) * 5)
        result = cusum(series[:fired], p0, PARAMS)
        assert result.start is not None and abs(result.start - 60) <= 12, "change point more than an hour off"
    assert max(delays) <= 180 and sum(delays) / len(delays) <= 120, delays


def test_silent_on_noise_under_repeated_looks() -> None:
    # Ten categories, a week each, looked at every 5 minutes: no alarm (the look is the same at every step).
    for seed in range(10):
        rng = random.Random(100 + seed)
        p0 = 0.01 + 0.004 * seed
        series = buckets(rng, 7 * 288, 167, p0)
        for i in range(12, len(series) + 1, 1):
            assert not is_shift(cusum(series[i - min(i, 288) : i], p0, PARAMS), PARAMS, open_alarm=False), (seed, i)


def test_small_volume_never_fires() -> None:
    series = [(3, 3)] * 20  # 60 requests, all refused: dramatic, but too little to act on
    result = cusum(series, 0.02, PARAMS)
    assert result.score >= PARAMS.threshold
    assert not is_shift(result, PARAMS, open_alarm=False)


def test_open_alarm_holds_until_the_rate_recovers_then_clears() -> None:
    rng = random.Random(3)
    up = buckets(rng, 48, 167, 0.04)
    assert is_shift(cusum(up, 0.02, PARAMS), PARAMS, open_alarm=False)
    down = up + buckets(rng, 24, 167, 0.02)
    assert not is_shift(cusum(down, 0.02, PARAMS), PARAMS, open_alarm=True)
    result = cusum(up + buckets(rng, 2, 167, 0.02), 0.02, PARAMS)
    assert is_shift(result, PARAMS, open_alarm=True)
    assert result.score <= PARAMS.cap


def test_baseline_guard_and_floor() -> None:
    assert baseline_rate(1999, 40, PARAMS) is None
    assert baseline_rate(10_000, 0, PARAMS) == PARAMS.floor_rate
    assert baseline_rate(10_000, 300, PARAMS) == pytest.approx(0.03)


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (20, 1000, 0.0130, 0.0307), (1, 1, 0.2065, 1.0)],
)
def test_wilson_matches_published_values(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson(k, n)
    assert got == (pytest.approx(lo, abs=5e-4), pytest.approx(hi, abs=5e-4))


def test_wilson_without_trials_is_uninformative() -> None:
    assert wilson(0, 0) == (0.0, 1.0)
