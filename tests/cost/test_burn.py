"""The burn-rate logic on hand-computed cases, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import BudgetConfig, CostConfig
from bot.cost.burn import (
    LEVEL_SD_YOUNG,
    PAGE_Z,
    Profile,
    Rule,
    Thresholds,
    WindowSpend,
    build_profile,
    excess_z,
    project,
    significant,
    verdict,
    volume_ok,
)
from bot.cost.detector import detect_cost_burn
from bot.detectors import run_detectors
from bot.services import Services
from tests.cost.helpers import rollup_row, write_minutes

DAY0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
T = Thresholds(page=Rule(1200, 300, 2.0), ticket=Rule(21600, 1800, 1.3), min_share=0.02, min_requests=10)


def _cfg(services: Services, **over: object) -> None:
    cost = CostConfig(**{"min_requests": 10, **over})  # type: ignore[arg-type]
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
    hourly = [(DAY0 + d * 86400 + 3 * 3600, cost, 10) for d, cost in enumerate([1.0, 9.0, 2.0])]
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
    run_detectors(services, NOW, only=["cost_burn"])  # the kernel opens the alarm
    again = run_detectors(services, NOW + timedelta(minutes=1), only=["cost_burn"])
    assert [(g.key, g.status) for g in again] == [("cost_burn:tenant=a", "firing")]
    assert again[0].started_at == f.started_at

    # the burn stops: five normal minutes and the short window resolves it
    rows = [rollup_row(end + 60 * i, 0.01, 2, tenant=t) for i in range(1, 6) for t in ("a", "b")]
    write_minutes(services, rows)
    done = run_detectors(services, NOW + timedelta(minutes=6), only=["cost_burn"])
    assert [(g.key, g.status) for g in done] == [("cost_burn:tenant=a", "resolved")]
    assert run_detectors(services, NOW + timedelta(minutes=7), only=["cost_burn"]) == []


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


def test_excess_z_counts_spend_in_noise_units_with_the_level_spread() -> None:
    # 64 units against 25 expected: (sqrt(64) - sqrt(25)) / 0.5 = 6; a 20% level spread over 25 units
    # widens the denominator to 0.5 * sqrt(1 + 0.04 * 25) = 0.707: 3 / 0.707 = 4.24
    w = WindowSpend(actual=0.064, expected=0.025, requests=50)
    assert excess_z(w, noise_unit=0.001, level_sd=0.0) == pytest.approx(6.0)
    assert excess_z(w, noise_unit=0.001, level_sd=0.2) == pytest.approx(3 / (0.5 * 2**0.5))
    assert excess_z(WindowSpend(0.01, 0.0, 1), noise_unit=0.001, level_sd=0.1) == float("inf")


def test_a_small_cohorts_night_swing_is_noise_and_a_real_burn_is_not() -> None:
    # The clean-traffic page of the benchmark: a tenant at 2% of spend, 27.6 calls of $0.00101 expected in
    # 15 min at night, 57 seen (2.1x). Under the old test (excess >= 4 sqrt(E c)) that paged.
    noise = WindowSpend(actual=57 * 0.00101, expected=27.6 * 0.00101, requests=57)
    assert noise.actual - noise.expected >= 4 * (noise.expected * 0.00101) ** 0.5
    assert not significant([noise], noise_unit=0.00101, level_sd=0.08)
    # Four times the pace for five of those 15 minutes: 27.6 + 3 * 9.2 = 55 calls' worth, but in 5 minutes
    # 36.8 against 9.2 expected: the short window holds the burn undiluted.
    short = WindowSpend(actual=36.8 * 0.00101, expected=9.2 * 0.00101, requests=37)
    assert excess_z(short, noise_unit=0.00101, level_sd=0.08) > PAGE_Z
    assert significant([WindowSpend(55.2 * 0.00101, 27.6 * 0.00101, 55), short], noise_unit=0.00101, level_sd=0.08)


def test_volume_guard_counts_spend_in_requests_worth() -> None:
    # six calls of a 15x pricier model: too few requests, but $0.09 is 90 requests' worth at $0.001
    long = WindowSpend(actual=0.09, expected=0.01, requests=6)
    assert not volume_ok(long, total_expected=0.5, t=T, requests=6)
    assert volume_ok(long, total_expected=0.5, t=T, requests=6, cost_per_request=0.001)
    # ... and the share guard still holds: $0.09 is under 2% x 2 of a $5 window
    assert not volume_ok(long, total_expected=5.0, t=T, requests=6, cost_per_request=0.001)


def test_profile_learns_its_noise_from_history() -> None:
    # five days at daily levels 1.0, 1.2, 0.9, 1.0, 1.1 (24 hours of 10 requests each), one model at $0.001
    # and a second at $0.004 in hour 0: mean cost per request and the spend-weighted noise unit differ
    levels = [1.0, 1.2, 0.9, 1.0, 1.1]
    rows = [(DAY0 + d * 86400 + h * 3600, 0.01 * lv, 10) for d, lv in enumerate(levels) for h in range(24)]
    rows += [(DAY0 + d * 86400, 0.04, 10) for d in range(5)]
    p = build_profile(rows, history_start=DAY0, history_end=DAY0 + 5 * 86400)
    spend = sum(r[1] for r in rows)
    assert p.cost_per_request == pytest.approx(spend / sum(r[2] for r in rows))
    assert p.noise_unit == pytest.approx(sum(c * c / n for _, c, n in rows) / spend)
    assert p.noise_unit > p.cost_per_request
    # daily spend 0.28, 0.328, 0.256, 0.28, 0.304: log distance from the median 0.28 is 0, .158, .090, 0, .082
    assert p.level_sd == pytest.approx(1.4826 * 0.0822, rel=0.02)
    young = build_profile(rows, history_start=DAY0, history_end=DAY0 + 2 * 86400)
    assert young.level_sd == LEVEL_SD_YOUNG


def test_a_new_pricey_model_pages_on_its_spend_not_its_call_count(services: Services) -> None:
    _cfg(services, dimensions=["tenant", "model"], min_requests=50)
    end = int(NOW.timestamp())
    _flat(services, end)
    # ten minutes of one gpt-4o call a minute in tenant a at $0.05: ten calls, under the 50-request guard,
    # but $0.5 is 100 requests' worth of this traffic's $0.005 a request
    write_minutes(services, [rollup_row(t, 0.05, 1, tenant="a", model="gpt-4o") for t in range(end - 600, end, 60)])
    pages = {f.key: f for f in detect_cost_burn(services, NOW) if f.severity == "critical"}
    assert "cost_burn:model=gpt-4o" in pages
