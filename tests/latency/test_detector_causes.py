"""The other causes: path-mix shifts, budget breaches (alone or joined to their cause), provider errors."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from bot.latency.detector import detect
from bot.latency.world import FALLBACK, World, ramp, row
from bot.services import Services
from tests.latency.helpers import T0, configure, write_rows

END = int(T0.timestamp())


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _causes(findings: list) -> list[tuple[str, str]]:
    return sorted((f.labels["cause"], f.key) for f in findings)


def test_a_budget_breach_caused_by_the_fallback_is_one_card_with_cause_fallback_share(services: Services) -> None:
    configure(services, fallback_paths=[FALLBACK], budgets=[{"intent": "billing_question", "p95_ms": 1500}])
    climb = END - 3 * 3600
    world = World(share_of={"billing_question": ramp(climb, climb + 3600, 0.03, 0.3)})
    write_rows(services, world.rows(END - 10 * 3600, END))
    findings = detect(services, T0)
    assert _causes(findings) == [("fallback_share", f"latency:fallback_share:billing_question:{FALLBACK}")]
    figures = dict(findings[0].figures)
    assert "Budget P95 (intent=billing_question)" in figures
    assert "deep_rag" in figures["Budget P95 (intent=billing_question)"]
    assert findings[0].severity == "high"


def test_a_budget_breach_without_a_share_shift_is_its_own_finding(services: Services) -> None:
    """Every path slows down (a slow model): no path moved, the budget still breaks."""
    configure(services, fallback_paths=[FALLBACK], budgets=[{"intent": "order_status", "p95_ms": 1200}])
    rows = list(World().rows(END - 6 * 3600, END))
    for r in rows:
        if r["intent"] == "order_status" and r["ts_ms"] >= (END - 2 * 3600) * 1000:
            r["latency_ms"] *= 4
    write_rows(services, rows)
    findings = detect(services, T0)
    assert [f.labels["cause"] for f in findings] == ["budget_breach"]
    f = findings[0]
    assert f.labels["intent"] == "order_status" and "tenant" not in f.labels
    assert f.started_at <= _at(END - 3600 + 300)
    assert "fast" in dict(f.figures)["Budget P95 (intent=order_status)"]


def test_a_two_minute_spike_alone_is_not_a_breach(services: Services) -> None:
    """The 5-minute window is far over the budget, the hour is not: no page."""
    configure(services, budgets=[{"intent": "order_status", "p95_ms": 3000}])
    rows = list(World().rows(END - 6 * 3600, END))
    for r in rows:
        if r["intent"] == "order_status" and r["ts_ms"] >= (END - 120) * 1000:
            r["latency_ms"] *= 10
    write_rows(services, rows)
    assert detect(services, T0) == []
    assert detect(services, _at(END - 3 * 3600)) == []


def test_an_undeclared_path_growing_past_10_percent_is_a_path_mix_shift(services: Services) -> None:
    """Young history: the service is five hours old, the new path takes 20% for the last two hours."""
    configure(services, fallback_paths=[FALLBACK])
    rng = random.Random(2)
    rows = list(World().rows(END - 5 * 3600, END))
    for r in rows:
        if r["intent"] == "product_search" and r["ts_ms"] >= (END - 2 * 3600) * 1000 and rng.random() < 0.2:
            r["path"] = "web_search"
    write_rows(services, rows)
    findings = detect(services, T0)
    assert _causes(findings) == [("path_mix_shift", "latency:path_mix_shift:product_search:web_search")]
    assert findings[0].labels["path"] == "web_search"


def test_a_path_that_always_served_a_third_is_not_a_shift(services: Services) -> None:
    configure(services, fallback_paths=[FALLBACK])
    write_rows(services, World().rows(END - 3 * 86400, END))  # "cached" is about 19% of every intent
    assert detect(services, T0) == []


def _provider_rows(start: int, end: int, failing_from: int | None, rate: float) -> list[dict]:
    rng = random.Random(9)
    out = []
    for minute in range(start, end, 60):
        for i in range(30):
            model = "claude-3-5-haiku" if i % 3 == 0 else "gpt-4o-mini"
            failing = failing_from is not None and minute >= failing_from and model.startswith("claude")
            status = ("timeout" if rng.random() < 0.5 else "error") if failing and rng.random() < rate else "ok"
            if status == "ok" and rng.random() < 0.003:
                status = "error"
            path = FALLBACK if (failing and status != "ok") else "fast"
            out.append(
                row(
                    ts_ms=minute * 1000 + i * 1000,
                    tenant=("acme", "globex")[i % 2],
                    intent="billing_question",
                    path=path if i % 3 == 0 else "fast",
                    latency_ms=400 * math.exp(rng.gauss(0, 0.3)),
                    status=status,
                    model=model,
                )
            )
    return out


def test_provider_errors_over_their_baseline_page_with_the_provider_runbook(services: Services) -> None:
    configure(services, fallback_paths=[FALLBACK])
    write_rows(services, _provider_rows(END - 2 * 86400, END, END - 40 * 60, 0.35))
    findings = [f for f in detect(services, T0) if f.labels["cause"] == "provider_errors"]
    assert len(findings) == 1
    f = findings[0]
    assert f.labels["provider"] == "anthropic" and f.key == "latency:provider_errors:anthropic"
    figures = dict(f.figures)
    assert figures["Models"] == "claude-3-5-haiku"
    assert abs(f.started_at - _at(END - 40 * 60)) <= _at(600) - _at(0)
    assert getattr(f, "runbook", "provider-outage") == "provider-outage"


def test_the_usual_provider_error_rate_does_not_page(services: Services) -> None:
    configure(services, fallback_paths=[FALLBACK])
    write_rows(services, _provider_rows(END - 2 * 86400, END, None, 0.0))
    assert [f for f in detect(services, T0) if f.labels["cause"] == "provider_errors"] == []
