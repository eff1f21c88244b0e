"""The refusal_shift detector on stored rollups, with an injected clock: fires, ties to the snapshot, resolves."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.detectors import Finding, run_detectors
from bot.refusals import models_seen, shift
from bot.services import Services
from storage import alarms
from storage import refusals as store
from tests.refusals.helpers import T0, event, send, step_rate, write_traffic

CHANGE = T0 - timedelta(hours=3)
NEW_MODEL = "gpt-4o-mini-2026-11-20"
DECLINE = "I'm sorry, but I can't help with billing questions."


def seed(services: Services) -> None:
    start = T0 - timedelta(days=8)
    write_traffic(
        services, start=start, end=T0, per_hour=2000, rate=step_rate(0.02, 0.04, CHANGE), seed=1, category="billing"
    )
    for i, tenant in enumerate(("acme", "globex")):
        write_traffic(
            services,
            start=start,
            end=T0,
            per_hour=1000,
            rate=lambda t: 0.03,
            seed=2 + i,
            category="account",
            tenant=tenant,
        )
    write_traffic(
        services, start=start, end=T0, per_hour=8, rate=step_rate(0.01, 0.5, CHANGE), seed=5, category="legal"
    )
    # The snapshots, through the real ingest path: the old one a day ago, the new one when the rate climbed.
    send(
        services,
        [event(T0 - timedelta(days=1), n, intent=c) for n, c in enumerate(("billing", "account"))],
        T0 - timedelta(days=1),
    )
    models_seen.scan(services, T0 - timedelta(days=1) + timedelta(minutes=5))
    changed = CHANGE + timedelta(minutes=2)
    send(
        services,
        [
            event(changed + timedelta(seconds=n), n, model=NEW_MODEL, system_fingerprint="fp_new", response=DECLINE)
            for n in range(4)
        ],
        changed,
    )
    models_seen.scan(services, T0)


def _run(services: Services, now: datetime) -> list[Finding]:
    """The detector through the kernel, which keeps its alarms (and delivers its cards)."""
    return run_detectors(services, now, only=["refusal_shift"])


def test_fires_on_a_doubling_with_rates_start_snapshot_and_samples(services: Services) -> None:
    seed(services)
    findings = run_detectors(services, T0, only=["refusal_shift"], dry_run=True)
    assert [(f.labels.get("category"), f.labels.get("tenant")) for f in findings] == [("billing", None)]
    [f] = findings
    assert f.detector == "refusal_shift" and f.status == "firing" and f.severity == "high"
    assert abs(f.started_at - CHANGE) <= timedelta(minutes=45)
    assert f.labels["model"] == NEW_MODEL
    assert f.title == f"Refusal rate for billing doubled since {NEW_MODEL} first appeared at 09:02 UTC"
    figures = dict(f.figures)
    assert figures["Before (7d baseline)"].startswith("2.0% (95% CI 1.9%-2.0%) of 33")
    after = next(v for k, v in figures.items() if k.startswith("After (since"))
    assert after.startswith(("3.", "4.")) and "95% CI" in after
    assert 1.6 <= float(figures["Change"].rstrip("x")) <= 2.4
    assert len(f.sample_request_ids) == 4
    assert any(
        k.startswith("Refused req_") and f"{NEW_MODEL} · fp_new · pattern:cannot_help" in v for k, v in f.figures
    )
    assert f"{NEW_MODEL} (fp_new)" in f.summary and "coincides with a model snapshot change" in f.summary


def test_noise_and_thin_categories_stay_silent_at_every_look(services: Services) -> None:
    seed(services)
    # Looks every 30 minutes over the day before the change: nothing fires anywhere.
    t = CHANGE - timedelta(hours=24)
    while t < CHANGE:
        assert shift.detect(services, t) == [], t
        t += timedelta(minutes=30)
    evaluated = {e.scope.key for e in shift.evaluate(services, T0, shift.ShiftParams())}
    assert "category=legal" not in evaluated  # below the minimum baseline volume
    assert {"category=account", "tenant=acme,category=account", "tenant=globex,category=account"} <= evaluated


def test_one_card_per_shift_then_resolved_once(services: Services) -> None:
    seed(services)
    [first] = _run(services, T0)
    [again] = _run(services, T0 + timedelta(minutes=5))
    assert again.key == first.key and again.status == "firing" and again.started_at == first.started_at
    write_traffic(
        services, start=T0, end=T0 + timedelta(hours=8), per_hour=2000, rate=lambda t: 0.02, seed=9, category="billing"
    )
    [resolved] = _run(services, T0 + timedelta(hours=8))
    assert resolved.status == "resolved" and resolved.key == first.key
    assert resolved.labels["category"] == "billing"
    assert "back near its baseline" in resolved.title
    assert _run(services, T0 + timedelta(hours=8, minutes=5)) == []
    with services.db.session() as session:
        assert alarms.count_alarms(session=session, status="open") == 0


def test_a_tenant_of_its_own_fires_when_the_category_does_not(services: Services) -> None:
    start = T0 - timedelta(days=8)
    write_traffic(
        services, start=start, end=T0, per_hour=3000, rate=lambda t: 0.03, seed=11, category="account", tenant="globex"
    )
    write_traffic(
        services, start=start, end=T0, per_hour=600, rate=step_rate(0.03, 0.09, CHANGE), seed=12, category="account"
    )
    [f] = shift.detect(services, T0)
    assert f.labels == {"category": "account", "tenant": "acme"}
    assert f.severity == "medium" and "(tenant acme)" in f.title and "rose 3." in f.title


def test_a_dry_run_reports_the_shift_and_writes_no_state(services: Services) -> None:
    seed(services)
    with services.db.session() as session:
        position = store.get_scan_position(session=session, name=models_seen.SCAN_NAME)
    send(services, [event(T0 + timedelta(minutes=1), 99, model="a-model-never-seen", system_fingerprint="fp_x")], T0)
    [dry] = run_detectors(services, T0 + timedelta(minutes=30), only=["refusal_shift"], dry_run=True)
    assert dry.status == "firing" and dry.labels["category"] == "billing"
    with services.db.session() as session:
        assert alarms.count_alarms(session=session) == 0  # no alarm saved: the next real run fires anew
        assert store.get_scan_position(session=session, name=models_seen.SCAN_NAME) == position
    [real] = _run(services, T0 + timedelta(minutes=30))
    assert real.key == dry.key
    with services.db.session() as session:
        assert alarms.count_alarms(session=session, status="open") == 1
