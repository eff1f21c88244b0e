"""The trailing week per intent from stored signals: windows, thin data, late joins, opt-outs, coverage."""

from __future__ import annotations

from datetime import timedelta

from bot.config import FileConfig
from bot.evals.config import EvalsConfig
from bot.evals.detector import divergent
from bot.evals.divergence import Week, compute_week
from bot.services import Services
from tests.evals.helpers import T0, event, feedback, log_requests, make_key, offline_run, thumbs

INTENTS = ("billing", "refunds", "shipping", "returns")


def _week(services: Services, now=T0, cfg: EvalsConfig | None = None) -> Week:
    with services.db.session() as session:
        return compute_week(session, cfg or EvalsConfig(), now)


def _traffic(
    services: Services, intent: str, n: int, start, *, tenant: str = "acme", prefix: str | None = None
) -> None:
    log_requests(
        services,
        [
            event(f"{prefix or intent}-{i}", start + timedelta(minutes=i), intent=intent, tenant=tenant)
            for i in range(n)
        ],
    )


def test_young_launch_with_little_feedback_raises_nothing(services: Services) -> None:
    start = T0 - timedelta(days=2)
    for intent in INTENTS:
        _traffic(services, intent, 40, start)
    offline_run(services, "golden", start, {"billing": (46, 50), "refunds": (47, 50), "shipping": (45, 50)})
    key = make_key(services)
    feedback(services, thumbs("billing", 25, 5, start + timedelta(hours=1)), key=key)  # 20% positive, but 25 items
    week = _week(services)
    billing = next(r for r in week.rows if r.intent == "billing")
    assert (billing.feedback.good, billing.feedback.total) == (5, 25)
    assert billing.production is None and divergent(week) == []


def test_the_weak_intent_diverges_and_the_others_do_not(services: Services) -> None:
    start = T0 - timedelta(days=6)
    for intent in INTENTS:
        _traffic(services, intent, 100, start)
    offline_run(services, "golden", start, {"billing": (46, 50), "refunds": (47, 50), "shipping": (46, 50)})
    key = make_key(services)
    feedback(services, thumbs("billing", 100, 55, start + timedelta(hours=3)), key=key)
    feedback(services, thumbs("refunds", 100, 91, start + timedelta(hours=3)), key=key)
    feedback(services, thumbs("shipping", 100, 89, start + timedelta(hours=3)), key=key)
    week = _week(services)
    assert [r.intent for r in divergent(week)] == ["billing"]
    billing = next(r for r in week.rows if r.intent == "billing")
    assert billing.gap_points is not None and round(billing.gap_points, 1) == 37.0
    assert [g.intent for g in week.coverage_gaps(30)] == ["returns"]


def test_only_the_trailing_seven_days_count_and_at_their_own_timestamp(services: Services) -> None:
    start = T0 - timedelta(days=9)
    _traffic(services, "billing", 100, start)
    offline_run(services, "golden", start, {"billing": (46, 50)})
    key = make_key(services)
    feedback(services, thumbs("billing", 100, 40, T0 - timedelta(days=8)), key=key)  # bad, but last week
    week = _week(services)
    assert next(r for r in week.rows if r.intent == "billing").feedback.total == 0
    assert divergent(week) == []
    assert [r.intent for r in divergent(_week(services, now=T0 - timedelta(days=2)))] == ["billing"]


def test_offline_uses_the_latest_run_per_suite_within_thirty_days(services: Services) -> None:
    offline_run(services, "golden", T0 - timedelta(days=40), {"billing": (10, 50)})
    assert _week(services).offline_cases == 0
    offline_run(services, "golden", T0 - timedelta(days=10), {"billing": (20, 50)})
    offline_run(services, "golden", T0 - timedelta(days=3), {"billing": (45, 50)})
    offline_run(services, "edge", T0 - timedelta(days=20), {"billing": (5, 10)})
    week = _week(services)
    billing = next(r for r in week.rows if r.intent == "billing")
    assert (billing.offline.good, billing.offline.total) == (50, 60) and week.suites == ["edge", "golden"]


def test_late_feedback_counts_once_its_request_arrives_and_opted_out_tenants_never(services: Services) -> None:
    start = T0 - timedelta(days=3)
    offline_run(services, "golden", start, {"billing": (46, 50)})
    key = make_key(services)
    feedback(services, thumbs("billing", 60, 20, start), key=key)  # before any request is logged
    assert divergent(_week(services)) == []
    _traffic(services, "billing", 60, start)
    assert [r.intent for r in divergent(_week(services))] == ["billing"]  # joined at query time
    cfg = EvalsConfig(opted_out_tenants=["acme"])
    assert next(r for r in _week(services, cfg=cfg).rows if r.intent == "billing").feedback.total == 0


def test_labels_decide_over_feedback_once_there_are_min_count(services: Services) -> None:
    from bot.evals import signals

    start = T0 - timedelta(days=3)
    _traffic(services, "billing", 100, start)
    offline_run(services, "golden", start, {"billing": (46, 50)})
    key = make_key(services)
    feedback(services, thumbs("billing", 100, 50, start + timedelta(hours=1)), key=key)
    labels = [
        {"request_id": f"billing-{i}", "label": "pass" if i < 28 else "fail", "labeller": "ann"} for i in range(30)
    ] + [{"request_id": "billing-99", "label": "unsure", "labeller": "ann"}]
    assert signals.store_labels(services, labels, key=key, now=T0).accepted == 31
    week = _week(services)
    billing = next(r for r in week.rows if r.intent == "billing")
    assert billing.production is not None and billing.production[0] == "labels"
    assert (billing.labels.good, billing.labels.total) == (28, 30)  # unsure counts in neither
    assert divergent(week) == []


def test_config_section_defaults_and_validation() -> None:
    cfg = FileConfig().evals
    assert (cfg.max_gap, cfg.min_count, cfg.items_per_intent) == (15.0, 30, 10)
    assert "hallucination" in cfg.categories
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="cron"):
        EvalsConfig(schedule="every monday")
