"""The three signal APIs over real HTTP: keys, tenant binding, per-item errors, idempotence, late joins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services
from storage import evals as store
from storage.evals_models import EvalFeedback, EvalLabel, EvalLabelChange, EvalResult, EvalRun
from tests.conftest import make_key
from tests.evals.helpers import event, iso, log_requests
from tests.evals.helpers import make_key as make_key_object


@pytest.fixture
def api(services: Services) -> Iterator[str]:
    with BackgroundServer(create_app(services.settings, services=services)) as server:
        yield server.url


def _post(url: str, path: str, body: object, key: str) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def _count(services: Services, table: type) -> int:
    with services.db.session() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_feedback_is_stored_once_and_bad_items_are_named(api: str, services: Services) -> None:
    now = datetime.now(UTC)
    log_requests(services, [event("r1", now - timedelta(minutes=5))], now=now)
    key = make_key(services)
    body = {
        "feedback": [
            {"request_id": "r1", "score": 1, "user_id": "u1", "comment": "great"},
            {"request_id": "r1", "value": 0.2, "user_id": "u2"},
            {"request_id": "r1", "score": 3},
            {"request_id": "r1"},
            {"request_id": "r1", "score": 1, "value": 0.9},
            "nope",
            {"request_id": "r1", "score": 1, "timestamp": "2026-01-01"},
        ]
    }
    first = _post(api, "/v1/feedback", body, key)
    assert first.status_code == 200
    data = first.json()
    assert (data["accepted"], data["rejected"]) == (2, 5)
    fields = {e["field"] for e in data["errors"]}
    assert {"feedback[2].score", "feedback[5]", "feedback[6].timestamp"} <= fields
    assert any("exactly one of score" in e["message"] for e in data["errors"] if e["index"] == 3)
    again = _post(api, "/v1/feedback", {"feedback": body["feedback"][:2]}, key).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    changed = _post(api, "/v1/feedback", {"feedback": [{"request_id": "r1", "score": -1, "user_id": "u1"}]}, key)
    assert changed.json()["updated"] == 1
    assert _count(services, EvalFeedback) == 2
    with services.db.session() as session:
        rows = session.execute(select(EvalFeedback).order_by(EvalFeedback.id)).scalars().all()
    assert [(r.intent, r.positive) for r in rows] == [("billing", False), ("billing", False)]
    assert all(r.user_key and "u1" not in r.user_key for r in rows)  # user ids are kept hashed


def test_whole_batch_refused_and_body_errors_answer_422_naming_the_problem(api: str, services: Services) -> None:
    key = make_key(services)
    assert _post(api, "/v1/feedback", {"feedback": [{"score": 1}]}, key).status_code == 422
    wrong = _post(api, "/v1/feedback", {"items": []}, key)
    assert wrong.status_code == 422 and "feedback" in wrong.json()["message"]
    assert httpx.post(f"{api}/v1/feedback", json={"feedback": []}, timeout=10).status_code == 401


def test_a_tenant_bound_key_touches_only_its_tenant(api: str, services: Services) -> None:
    now = datetime.now(UTC)
    log_requests(services, [event("r1", now, tenant="acme"), event("r1", now, tenant="globex")], now=now)
    acme = make_key(services, tenant="acme")
    sent = _post(api, "/v1/feedback", {"feedback": [{"request_id": "r1", "score": -1, "tenant": "globex"}]}, acme)
    assert sent.status_code == 422 and "bound to tenant 'acme'" in sent.json()["errors"][0]["message"]
    ok = _post(api, "/v1/evals/labels", {"labels": [{"request_id": "r1", "label": "fail", "labeller": "ann"}]}, acme)
    assert ok.json()["accepted"] == 1
    with services.db.session() as session:
        [label] = session.execute(select(EvalLabel)).scalars().all()
    assert label.tenant == "acme"
    refused = _post(api, "/v1/evals/results", {"run": {"suite": "s", "started_at": iso(now)}, "results": []}, acme)
    assert refused.status_code == 403 and "unbound key" in refused.json()["message"]


def test_feedback_before_its_request_is_kept_and_joined_when_it_arrives(api: str, services: Services) -> None:
    key = make_key(services)
    now = datetime.now(UTC)
    assert _post(api, "/v1/feedback", {"feedback": [{"request_id": "late-1", "score": 1}]}, key).json()["accepted"] == 1
    with services.db.session() as session:
        assert session.execute(select(EvalFeedback.intent)).scalar_one() is None
    log_requests(services, [event("late-1", now, intent="refunds")], now=now)
    with services.db.write_session() as session:
        assert store.join_pending(session=session) == 1
    with services.db.session() as session:
        row = session.execute(select(EvalFeedback)).scalar_one()
    assert (row.tenant, row.intent, row.prompt_version) == ("acme", "refunds", "v1")


def test_labels_are_one_per_labeller_and_changes_are_audited(api: str, services: Services) -> None:
    key = make_key(services)
    now = datetime.now(UTC)
    log_requests(services, [event("r9", now)], now=now)
    label = {"request_id": "r9", "label": "pass", "labeller": "ann"}
    assert _post(api, "/v1/evals/labels", {"labels": [label]}, key).json()["accepted"] == 1
    assert _post(api, "/v1/evals/labels", {"labels": [label]}, key).json()["duplicates"] == 1
    changed = {**label, "label": "fail", "category": "hallucination"}
    assert _post(api, "/v1/evals/labels", {"labels": [changed]}, key).json()["updated"] == 1
    bad = _post(
        api, "/v1/evals/labels", {"labels": [{**label, "label": "maybe"}, {**label, "category": "x" * 65}]}, key
    )
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {
        "labels[0].label",
        "labels[1].category",
    }
    assert _count(services, EvalLabel) == 1
    with services.db.session() as session:
        changes = session.execute(select(EvalLabelChange).order_by(EvalLabelChange.id)).scalars().all()
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("label", "pass", "fail"),
        ("category", None, "hallucination"),
    ]


def test_an_offline_run_resent_adds_nothing_and_bad_cases_are_named(api: str, services: Services) -> None:
    key = make_key(services)
    run = {"suite": "golden", "started_at": "2026-11-20T10:00:00Z", "prompt_version": "v3"}
    results = [{"case_id": f"c{i}", "intent": "billing", "passed": i % 10 != 0} for i in range(20)]
    first = _post(api, "/v1/evals/results", {"run": run, "results": results}, key).json()
    assert (first["accepted"], first["duplicates"]) == (20, 0)
    again = _post(api, "/v1/evals/results", {"run": run, "results": [*results, {"case_id": "c99", "intent": "x"}]}, key)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 20
    assert again.json()["errors"][0]["field"] == "results[20].passed"
    bad_run = _post(api, "/v1/evals/results", {"run": {"suite": "golden"}, "results": results}, key)
    assert bad_run.status_code == 422 and "run.started_at" in bad_run.json()["message"]
    assert (_count(services, EvalRun), _count(services, EvalResult)) == (1, 20)


def test_a_late_join_meeting_a_newer_twin_keeps_the_newer_verdict(services: Services) -> None:
    from bot.evals import signals

    key = make_key_object(services)
    now = datetime.now(UTC)
    signals.store_feedback(services, [{"request_id": "tw", "score": -1, "user_id": "u"}], key=key, now=now)
    log_requests(services, [event("tw", now)], now=now)
    later = now + timedelta(minutes=1)
    signals.store_feedback(services, [{"request_id": "tw", "score": 1, "user_id": "u"}], key=key, now=later)
    with services.db.write_session() as session:
        assert store.join_pending(session=session) == 1
    with services.db.session() as session:
        rows = session.execute(select(EvalFeedback)).scalars().all()
    assert [(r.tenant, r.positive, r.intent) for r in rows] == [("acme", True, "billing")]
