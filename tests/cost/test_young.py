"""The cost alarm in the first days after a launch: young baselines, with an injected clock (issue 16, defect 1)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from bot.config import BudgetConfig, CostConfig
from bot.cost.burn import build_profile
from bot.cost.detector import detect_cost_burn
from bot.demo.traffic import daily_weight
from bot.services import Services
from tests.cost.helpers import rollup_row, write_minutes

DAY0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
TENANTS = ("a", "b", "c", "d", "e", "f")


def _cfg(services: Services, budgets: list[BudgetConfig] | None = None) -> None:
    cost = CostConfig(min_requests=50, dimensions=["tenant", "intent", "model"])
    services.settings.file = services.settings.file.model_copy(update={"cost": cost, "budgets": budgets or []})


def _launch(services: Services, first: int, until: int, *, spike: tuple[str, int] | None = None, seed: int = 1) -> None:
    """Six tenants from ``first`` (the launch) on a daily cycle with Poisson calls at $0.002; a spike is 4x spend."""
    rng = random.Random(seed)
    rows = []
    for t in range(first, until, 60):
        w = daily_weight(datetime.fromtimestamp(t, UTC))
        for i, tenant in enumerate(TENANTS):
            lam = 12 * w / (i + 1) ** 0.7
            n = _poisson(rng, lam)
            cost = 0.002 * n
            if spike and tenant == spike[0] and t >= spike[1]:
                cost, n = cost * 4, n * 4
            if n:
                rows.append(rollup_row(t, cost, n, tenant=tenant))
    write_minutes(services, rows)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def test_profile_counts_only_hours_with_data() -> None:
    # Flat $1 an hour from noon on day 0 to the end of day 1: a day and a half of history.
    hourly = [(ts, 1.0, 10) for ts in range(DAY0 + 12 * 3600, DAY0 + 2 * 86400, 3600)]
    p = build_profile(hourly, history_start=DAY0 - 86400, history_end=DAY0 + 2 * 86400)
    # The morning of day 0 came before any data: it is not zero spend, so every hour expects $1.
    assert p.hourly == pytest.approx([1.0] * 24)
    assert p.hours == 36


@pytest.mark.parametrize("hours", [2, 12, 20, 47])
def test_young_clean_traffic_never_pages_nor_burns_infinitely(services: Services, hours: int) -> None:
    _cfg(services, [BudgetConfig(cohort={}, period="month", usd=5000.0)])
    launch = DAY0 + 4 * 3600
    until = launch + hours * 3600
    _launch(services, launch, until)
    for now_s in range(launch + 300, until + 1, 600):
        for f in detect_cost_burn(services, datetime.fromtimestamp(now_s, UTC)):
            assert f.status != "firing" or f.severity != "critical", (now_s - launch, f.title)
            assert "∞" not in f.title and all("∞" not in v for _, v in f.figures), f.title


@pytest.mark.parametrize("history_h", [2, 12, 24])
def test_launch_day_spike_pages_within_ten_minutes(services: Services, history_h: int) -> None:
    _cfg(services)
    onset = DAY0 + 86400 + 14 * 3600
    _launch(services, onset - history_h * 3600, onset + 15 * 60, spike=("b", onset))
    paged = None
    for minute in range(0, 11):
        findings = detect_cost_burn(services, datetime.fromtimestamp(onset + minute * 60, UTC))
        if any(f.status == "firing" and f.severity == "critical" and f.labels.get("tenant") == "b" for f in findings):
            paged = minute
            break
    assert paged is not None and paged <= 10


def test_a_page_on_young_history_says_how_young(services: Services) -> None:
    _cfg(services)
    onset = DAY0 + 86400 + 14 * 3600
    _launch(services, onset - 6 * 3600, onset + 15 * 60, spike=("b", onset))
    findings = detect_cost_burn(services, datetime.fromtimestamp(onset + 10 * 60, UTC))
    page = next(f for f in findings if f.severity == "critical")
    assert dict(page.figures)["baseline"].startswith("6h of history")


def test_no_page_from_under_an_hour_of_data(services: Services) -> None:
    _cfg(services)
    launch = DAY0 + 14 * 3600
    _launch(services, launch, launch + 50 * 60, spike=("a", launch + 40 * 60))
    for minute in range(41, 51):
        findings = detect_cost_burn(services, datetime.fromtimestamp(launch + minute * 60, UTC))
        assert not [f for f in findings if f.severity == "critical"]


def test_two_days_of_clean_traffic_raise_no_slow_burn(services: Services) -> None:
    _cfg(services)
    launch = DAY0 + 9 * 3600
    until = DAY0 + 2 * 86400 + 20 * 3600
    _launch(services, launch, until, seed=3)
    for now_s in range(DAY0 + 2 * 86400 + 3600, until + 1, 1800):
        findings = detect_cost_burn(services, datetime.fromtimestamp(now_s, UTC))
        assert not [f.title for f in findings if f.status == "firing"], datetime.fromtimestamp(now_s, UTC)
