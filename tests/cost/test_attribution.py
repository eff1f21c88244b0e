"""Each of the six causes attributed correctly on its own synthetic traffic, stored through real ingest."""

from __future__ import annotations

import random
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.cost.attribution import MIN_SCORE, attribute, noisy_tenant
from bot.demo.traffic import TrafficShape, make_event
from bot.ingest.service import Writer, ingest
from bot.services import Services
from storage.cost import RequestRow

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
SHAPE = TrafficShape(
    tenants=("acme", "globex", "initech"), models={"gpt-4o-mini": 1.0}, prompt_versions=("support-v13",)
)


def _normal(rng: random.Random, start: datetime, minutes: int, per_minute: int) -> list[dict[str, Any]]:
    return [
        make_event(rng, start + timedelta(minutes=m, seconds=rng.uniform(0, 59)), shape=SHAPE)
        for m in range(minutes)
        for _ in range(per_minute)
    ]


def _spike(rng: random.Random, cause: str, start: datetime, minutes: int) -> list[dict[str, Any]]:
    events = []
    for m in range(minutes):
        for i in range(6):
            e = make_event(rng, start + timedelta(minutes=m, seconds=rng.uniform(0, 59)), shape=SHAPE, tenant="acme")
            if cause == "runaway_agent_loop":
                e.update(
                    trace_id=f"t_loop_{m // 5}", session_id="s_acme_loop", agent_step=m * 6 + i, intent="summarize"
                )
            elif cause == "prompt_regression":
                e.update(prompt_version="support-v14", input_tokens=e["input_tokens"] * 4, cached_tokens=0)
            elif cause == "model_upgrade":
                e.update(model="gpt-4o", model_requested="gpt-4o-mini")
            elif cause == "retry_storm":
                e.update(attempt=2 + i % 3, status="error" if i % 2 else "ok")
            elif cause == "leaked_api_key":
                e.update(api_key_id="key-unknown-9", client_ip=f"203.0.113.{rng.randint(1, 254)}", session_id=None)
                e.pop("user_id", None)
            events.append(e)
    return events


@pytest.mark.parametrize(
    "cause",
    ["runaway_agent_loop", "prompt_regression", "model_upgrade", "retry_storm", "noisy_tenant", "leaked_api_key"],
)
def test_each_cause_ranks_first_on_its_own_traffic(services: Services, cause: str) -> None:
    rng = random.Random(len(cause))
    history_start = NOW - timedelta(days=1)
    events = _normal(rng, history_start, 20, 1)  # a day ago: what the rollups have seen
    events += _normal(rng, NOW - timedelta(hours=3, minutes=20), 200, 3)  # the hours before and during
    events += _spike(rng, cause, NOW - timedelta(minutes=20), 20)
    for i in range(0, len(events), 500):
        ingest(services.db, events[i : i + 500], cfg=services.ingest, writer=Writer(None, None), now=NOW)
    end = int(NOW.timestamp())
    with services.db.session() as session:
        result = attribute(session=session, cohort={"tenant": "acme"}, end=end, onset=end - 1200)
    ranked = [(c.cause, round(c.score, 2)) for c in result.ranking]
    assert result.cause == cause, ranked
    assert result.ranking[0].figures and result.ranking[0].samples
    if cause == "leaked_api_key":
        assert "key-unknown-9" in dict(result.ranking[0].figures)["spend from keys never seen"]


@pytest.mark.parametrize("share", [0.1, 0.5, 0.7])
def test_a_tenant_that_quadruples_is_noisy_whatever_its_share(share: float) -> None:
    """Its spend at 4x while the rest holds: a big tenant's share cannot rise 4x, its growth against the rest does."""
    before = {"big": share, "rest": 1 - share}
    now = {"big": 4 * share, "rest": 1 - share}
    score = noisy_tenant(now, before, [_row("big")])
    assert score.score >= MIN_SCORE, score
    steady = noisy_tenant({"big": 2 * share, "rest": 2 * (1 - share)}, before, [_row("big")])
    assert steady.score == 0.0, steady


def _row(tenant: str) -> RequestRow:
    return RequestRow(**{f.name: None for f in fields(RequestRow)} | {"tenant": tenant, "cost_usd": 1.0})
