"""The drill end to end against a live service: the incidents fire with the right cause and runbook,
and the real tenants' figures, rollups, alarms and command output are identical before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bot.cards.terminal import to_terminal
from bot.cost.command import COMMAND as COST
from bot.demo.traffic import generate
from bot.detectors import run_detectors
from bot.drill.run import DETECTORS, run_drill
from bot.refusals import models_seen
from bot.refusals.command import COMMAND as REFUSALS
from bot.services import Services
from bot.slack.registry import CommandRequest, run_command
from tests.conftest import make_key

TABLES = ("requests", "request_bodies", "rollup_minute", "rollup_hour", "detector_alarms", "model_snapshots")


def _real_traffic(services: Services, url: str, now: datetime) -> None:
    events = list(generate(now - timedelta(days=1), now - timedelta(minutes=2), events_per_day=600, seed=5))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {make_key(services)}"}) as client:
        client.post("/v1/events", json={"events": events}).raise_for_status()
    models_seen.scan(services, datetime.now(UTC), lag=timedelta(0))  # the scan job has seen what served real traffic


def _picture(services: Services, now: datetime) -> dict[str, Any]:
    """Everything a real tenant's figures come from, and what the real commands and detectors say."""
    seen: dict[str, Any] = {}
    with services.db.session() as session:
        for table in TABLES:
            # A drill keeps its last request row (no body, no rollup) so SQLite never reuses its id.
            where = " WHERE tenant NOT LIKE 'drill-%'" if table == "requests" else ""
            rows = session.execute(text(f"SELECT * FROM {table}{where}")).all()
            seen[table] = sorted(tuple(map(str, r)) for r in rows)
    for command, args in ((COST, "by tenant 24h"), (REFUSALS, "24h by model")):
        reply = run_command(services, command, CommandRequest(command.name, args, "U0PRIMARY", "C0OPS", now))
        seen[command.name] = to_terminal(reply.card.to_message())
    seen["findings"] = sorted(str(f.to_json()) for f in run_detectors(services, now, dry_run=True))
    return seen


def test_drill_fires_with_the_right_cause_and_leaves_real_figures_as_they_were(
    ready_services: Services, live: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    _real_traffic(ready_services, live, now)
    before = _picture(ready_services, now)
    results = {r.incident: r for r in run_drill(ready_services, live, ["cost", "refusals", "screenshot"], now)}
    after = _picture(ready_services, now)
    for table in TABLES:
        assert after[table] == before[table], table
    assert after == before

    cost = results["cost"]
    assert cost.fired, cost.problems
    assert (cost.card_cause, cost.runbook) == ("runaway_agent_loop", "cost-runaway-agent-loop")
    assert cost.paged == ["U0PRIMARY"] or cost.paged == ["U0SECOND"]
    refusals = results["refusals"]
    assert refusals.fired, refusals.problems
    assert (refusals.card_cause, refusals.runbook) == ("provider_model_update", "refusal-shift")
    with ready_services.db.session() as session:
        titles = [t for (t,) in session.execute(text("SELECT title FROM alerts")).all()]
        flags = session.execute(text("SELECT count(*) FROM flag_rules")).scalar_one()
        audited = session.execute(text("SELECT flag_key, outcome, source FROM flag_audit")).all()
    assert len(titles) == 2 and all(t.startswith("Drill") for t in titles)  # cost and refusals, resolved
    assert flags == 0  # the suggested kill switch was never flipped, only audited as a drill
    assert [tuple(a) for a in audited] == [("assistant.agent_tools", "simulated", "drill")]
    # A second drill after the first one's clean-up sees its new model snapshot as well.
    [again] = run_drill(ready_services, live, ["refusals"], now)
    assert again.fired and again.card_cause == "provider_model_update", again.problems
    shot = results["screenshot"]
    assert shot.fired, shot.problems
    assert shot.onset_to_card_s is not None


def test_steps_whose_detector_is_not_installed_say_so_and_inject_nothing(
    ready_services: Services, live: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import capabilities
    from bot.detectors import all_detectors

    without = [c for c in capabilities.INSTALLED if c not in ("bot.latency", "bot.evals", "bot.leaks")]
    monkeypatch.setattr(capabilities, "INSTALLED", without)
    missing = [i for i in ("latency", "evals", "leak") if DETECTORS[i] not in all_detectors()]
    assert missing == ["latency", "evals", "leak"]
    results = run_drill(ready_services, live, missing, datetime.now(UTC))
    for r in results:
        assert not r.fired
        assert r.problems and r.problems[0].startswith("detector ") and r.problems[0].endswith(" is not installed")
    with ready_services.db.session() as session:
        assert session.execute(text("SELECT count(*) FROM requests")).scalar_one() == 0


def test_history_shows_the_last_result_per_incident_and_what_regressed(ready_services: Services) -> None:
    from bot.drill import scorecard
    from bot.drill.command import COMMAND as DRILL
    from bot.drill.run import StepResult

    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    good = StepResult("cost", fired=True, card_cause="runaway_agent_loop", runbook="cost-runaway-agent-loop")
    scorecard.record(
        ready_services, "r1", [good, StepResult("latency", problems=["detector latency is not installed"])], t0
    )
    bad = StepResult("cost", fired=True, problems=["nobody was paged: no on-call user ([oncall] users)"])
    scorecard.record(ready_services, "r2", [bad], t0 + timedelta(days=1))
    scores = {s.incident: s for s in scorecard.history(ready_services)}
    assert scores["cost"].regressed and not scores["cost"].passed
    assert not scores["latency"].regressed and not scores["latency"].passed
    reply = run_command(ready_services, DRILL, CommandRequest("/drill", "history", "U0X", "C0X", t0))
    text_out = to_terminal(reply.card.to_message())
    assert (
        "regressed" in text_out and "nobody was paged" in text_out and "detector latency is not installed" in text_out
    )
    refused = run_command(ready_services, DRILL, CommandRequest("/drill", "cost", "U0NOTRESPONDER", "C0X", t0))
    assert "responders" in to_terminal(refused.card.to_message())


def test_the_scheduler_running_beside_a_drill_opens_no_alarm_for_it(ready_services: Services, live: str) -> None:
    from bot.drill import steps
    from bot.drill.cleanup import remove_drill_rows

    now = datetime.now(UTC).replace(microsecond=0)
    with httpx.Client(base_url=live, headers={"Authorization": f"Bearer {make_key(ready_services)}"}) as client:
        steps.cost(client, "drill-t1-cost", now)
    try:
        drill_only = run_detectors(ready_services, now, only=["cost_burn"], dry_run=True, include_drills=True)
        assert any(f.cohort.get("tenant") == "drill-t1-cost" for f in drill_only)  # the incident is there to see
        assert not [f for f in run_detectors(ready_services, now, only=["cost_burn"]) if "drill-" in f.key]
        with ready_services.db.session() as session:
            keys = [k for (k,) in session.execute(text("SELECT key FROM detector_alarms")).all()]
        assert not [k for k in keys if "drill-" in k]
    finally:
        remove_drill_rows(ready_services, "t1")


def test_drill_command_answers_readiness_and_names_a_bad_argument(ready_services: Services) -> None:
    from bot.drill.command import COMMAND as DRILL

    now = datetime.now(UTC)
    gaps = to_terminal(
        run_command(ready_services, DRILL, CommandRequest("/drill", "readiness", "U0X", "C0X", now)).card.to_message()
    )
    assert "Launch readiness" in gaps and "no on-call user" not in gaps
    wrong = to_terminal(
        run_command(ready_services, DRILL, CommandRequest("/drill", "costs", "U0X", "C0X", now)).card.to_message()
    )
    assert "unknown drill 'costs'" in wrong and "history" in wrong


def test_evals_leak_and_latency_drills_find_their_cause_and_leave_nothing(ready_services: Services, live: str) -> None:
    now = datetime.now(UTC)
    results = {r.incident: r for r in run_drill(ready_services, live, ["evals", "leak", "latency"], now)}
    expected = {
        "evals": ("eval_divergence", "eval-drift"),
        "leak": ("canary", "tenant-leak"),
        "latency": ("fallback_share", "latency-fallback-path"),
    }
    for incident, (cause, runbook) in expected.items():
        r = results[incident]
        assert r.fired, (incident, r.problems)
        assert (r.card_cause, r.runbook) == (cause, runbook), incident
    with ready_services.db.session() as session:
        for table in ("eval_feedback", "eval_runs", "eval_results", "leak_canaries", "leak_hits"):
            assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
