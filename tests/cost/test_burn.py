"""The burn-rate logic on hand-computed cases, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import BudgetConfig, CostConfig
from bot.cost.burn import Profile, Rule, Thresholds, WindowSpend, build_profile, project, verdict
from bot.cost.detector import detect_cost_burn
from bot.services import Services
from tests.cost.helpers import rollup_row, write_minutes

DAY0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
T = Thresholds(page=Rule(1200, 300, 2.0), ticket=Rule(21600, 1800, 1.3), min_share=0.02, min_requests=10)


def _cfg(services: Services, **over: object) -> None:
    cost = CostConfig(min_requests=10, **over)  # type: ignore[arg-type]
    services.settings.file = services.settings.file.model_copy(update={"cost": cost})


def _flat(services: Services, until: int, spikes: dict[str, tuple[int, float]] | None = None) -> None:
    """Tenants a and b at $0.01 a minute (2 requests), c at $0.0001; a spike sets a tenant's cost from a minute on."""
    spikes = spikes or {}
    rows = []
    for t in range(DAY0, until, 60):
        for tenant, cost in (("a", 0.01), ("b", 0.01), ("c", 0.0001)):
            start, spiked = spikes.get(tenant, (until, cost))
            rows.append(rollup_row(t, spiked if t >= start else cost, 2, tenant=tenant))
    write_minutes(services, rows)


def test_profile_is_the_median_hour_of_day() -> None:
    hourly = [(DAY0 + d * 86400 + 3 * 3600, cost) for d, cost in enumerate([1.0, 9.0, 2.0])]
    p = build_profile(hourly, history_start=DAY0, history_end=DAY0 + 3 * 86400)
    assert p.days == 3 and p.hourly[3] == 2.0 and p.hourly[4] == 0.0
    assert p.expected(DAY0 + 3 * 3600, DAY0 + 3 * 3600 + 1800) == pytest.approx(1.0)


def test_verdict_needs_both_windows() -> None:
    w = {
        "page_long": WindowSpend(0.5, 0.2, 40),
        "page_short": WindowSpend(0.2, 0.05, 10),
        "ticket_long": WindowSpend(3.9, 3.6, 720),
        "ticket_short": WindowSpend(0.5, 0.3, 60),
    }
    assert verdict(w, T, volume_ok=True, breaks_budget=None) == "page"
    w["page_short"] = WindowSpend(0.05, 0.05, 10)  # the burn stopped: the short window says so at once
    assert verdict(w, T, volume_ok=True, breaks_budget=None) is None
    assert verdict({**w, "page_short": WindowSpend(0.2, 0.05, 10)}, T, volume_ok=False, breaks_budget=None) is None


def test_slow_burn_raises_a_ticket_only_when_it_breaks_the_budget() -> None:
    w = {
        "page_long": WindowSpend(0.3, 0.2, 40),
        "page_short": WindowSpend(0.08, 0.05, 10),
        "ticket_long": WindowSpend(5.4, 3.6, 720),
        "ticket_short": WindowSpend(0.45, 0.3, 60),
    }
    assert verdict(w, T, volume_ok=True, breaks_budget=True) == "ticket"
    assert verdict(w, T, volume_ok=True, breaks_budget=False) is None


def test_projection_and_time_left() -> None:
    p = project(spent=100.0, expected_rest=50.0, burn=3.0, rate_now=0.01, now=0, period_end=86400, budget=200.0)
    assert p.projected == 250.0 and p.breaks
    assert p.seconds_left == pytest.approx(10_000.0)
    flat = Profile(tuple([1.0] * 24), 3)
    assert flat.shape(0, 3600) == pytest.approx(1.0)


def test_detector_fires_resolves_and_guards_small_cohorts(services: Services) -> None:
    _cfg(services, dimensions=["tenant"])
    end = int(NOW.timestamp())
    # a: 10 minutes at $0.04 -> 15-minute window 0.45 vs 0.15 expected (3x), 5-minute 0.2 vs 0.05 (4x): page.
    # c: 6x its own pace but $0.009 in 15 minutes, under 2% of the $0.3015 total times the 2x burn ($0.01206): quiet.
    _flat(services, end, {"a": (end - 600, 0.04), "c": (end - 1200, 0.0006)})
    findings = detect_cost_burn(services, NOW)
    assert [(f.key, f.status, f.severity) for f in findings] == [("cost_burn:tenant=a", "firing", "critical")]
    f = findings[0]
    assert f.labels["detector"] == "cost_burn" and f.labels["tenant"] == "a" and f.labels["cause"] == "unknown"
    assert ("burn rate", "3.0x over 15m, 4.0x over 5m") in f.figures

    # one minute later, still burning: the same key again, the same start (one card, updated)
    write_minutes(services, [rollup_row(end, 0.04, 2, tenant="a"), rollup_row(end, 0.01, 2, tenant="b")])
    again = detect_cost_burn(services, NOW + timedelta(minutes=1))
    assert [(g.key, g.status) for g in again] == [("cost_burn:tenant=a", "firing")]
    assert again[0].started_at == f.started_at

    # the burn stops: five normal minutes and the short window resolves it
    rows = [rollup_row(end + 60 * i, 0.01, 2, tenant=t) for i in range(1, 6) for t in ("a", "b")]
    write_minutes(services, rows)
    done = detect_cost_burn(services, NOW + timedelta(minutes=6))
    assert [(g.key, g.status) for g in done] == [("cost_burn:tenant=a", "resolved")]
    assert detect_cost_burn(services, NOW + timedelta(minutes=7)) == []


def test_detector_does_not_fire_before_the_spike_is_sure(services: Services) -> None:
    _cfg(services, dimensions=["tenant"])
    end = int(NOW.timestamp())
    # 4 minutes at $0.04: 15-minute window 0.27 vs 0.15 = 1.8x, under 2x: no page yet
    _flat(services, end, {"a": (end - 240, 0.04)})
    assert detect_cost_burn(services, NOW) == []


def test_budget_alarm_states_projection(services: Services) -> None:
    # all traffic budget of $30 a day; normal is $0.0201/min = $28.9/day, so a tripled afternoon breaks it
    budget = BudgetConfig(cohort={}, period="day", usd=30.0)
    services.settings.file = services.settings.file.model_copy(update={"budgets": [budget]})
    _cfg(services, dimensions=["tenant"])
    end = int(NOW.timestamp())
    _flat(services, end, {"a": (end - 1200, 0.05), "b": (end - 1200, 0.05)})
    findings = {f.key: f for f in detect_cost_burn(services, NOW)}
    f = findings["cost_burn:budget:day:all traffic"]
    assert f.severity == "critical"
    figures = dict(f.figures)
    assert "of $30.00" in figures["projected end of period"]
    assert figures["time until the budget is gone"] != "—"
