"""The refusal shift test on young history, with an injected clock (issue 16): a doubling found, clean traffic quiet."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.refusals import shift
from bot.services import Services
from tests.refusals.helpers import T0, step_rate, write_traffic


@pytest.mark.parametrize("days", [1, 2])
def test_a_doubling_is_found_on_young_history(services: Services, days: int) -> None:
    change = T0 - timedelta(hours=2)
    write_traffic(
        services,
        start=change - timedelta(days=days),
        end=T0,
        per_hour=3000,
        rate=step_rate(0.02, 0.04, change),
        seed=days,
        category="billing",
        step_minutes=5,
    )
    firing = [f for f in shift.detect(services, T0) if f.status == "firing"]
    assert [f.labels["category"] for f in firing] == ["billing"]


@pytest.mark.parametrize("days", [1, 2])
def test_clean_young_traffic_stays_quiet(services: Services, days: int) -> None:
    start = T0 - timedelta(days=days)
    for seed, (category, rate) in enumerate((("billing", 0.02), ("account", 0.01), ("legal", 0.05))):
        write_traffic(
            services, start=start, end=T0, per_hour=2000, rate=lambda t, r=rate: r, seed=10 + seed,
            category=category, step_minutes=5,
        )  # fmt: skip
    now = start + timedelta(hours=2)
    while now <= T0:
        assert not [f.title for f in shift.detect(services, now) if f.status == "firing"], now
        now += timedelta(minutes=30)


def test_young_spans_never_reach_before_the_first_data() -> None:
    assert shift.spans(None) == (shift.WINDOW, shift.BASELINE_DAYS * 86400)
    assert shift.spans(26 * 3600) == (13 * 3600, 13 * 3600)
    assert shift.spans(3 * 86400) == (shift.WINDOW, 2 * 86400)
