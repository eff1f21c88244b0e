"""Stratified, seeded sampling: per intent and prompt version, the same seed the same sample, opt-outs respected."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.evals.config import EvalsConfig
from bot.evals.sampling import Candidate, allocate, draw, plan_batch
from bot.services import Services
from tests.evals.helpers import T0, event, log_requests


def _pool() -> list[Candidate]:
    out = []
    n = 0
    for intent, versions in {"billing": {"v1": 300, "v2": 20}, "refunds": {"v1": 50}, "rare": {"v1": 3}}.items():
        for version, count in versions.items():
            for _ in range(count):
                n += 1
                out.append(Candidate(n, "acme", f"r{n}", intent, version))
    return out


def test_allocation_gives_every_version_a_look_then_follows_traffic() -> None:
    assert allocate({"v1": 300, "v2": 20}, 10) == {"v1": 9, "v2": 1}
    assert allocate({"v1": 100, "v2": 100, "v3": 100}, 2) == {"v1": 1, "v2": 1}
    assert allocate({"v1": 3}, 10) == {"v1": 3}
    assert allocate({}, 10) == {} and allocate({"v1": 5}, 0) == {}
    assert sum(allocate({"a": 7, "b": 5, "c": 1}, 9).values()) == 9


def test_draw_is_stratified_and_reproducible_with_a_seed() -> None:
    pool = _pool()
    first = draw(pool, per_intent=10, seed=42)
    assert first == draw(list(reversed(pool)), per_intent=10, seed=42)  # input order does not matter
    assert first != draw(pool, per_intent=10, seed=43)
    strata = Counter((c.intent, c.prompt_version) for c in first)
    assert strata == {("billing", "v1"): 9, ("billing", "v2"): 1, ("refunds", "v1"): 10, ("rare", "v1"): 3}
    assert len({c.row_id for c in first}) == len(first)


def test_a_batch_skips_opted_out_tenants_purged_bodies_and_other_weeks(services: Services) -> None:
    week = T0 - timedelta(days=3)
    log_requests(services, [event(f"a{i}", week + timedelta(minutes=i), tenant="acme") for i in range(30)])
    log_requests(services, [event(f"g{i}", week + timedelta(minutes=i), tenant="globex") for i in range(30)])
    log_requests(services, [event(f"old{i}", T0 - timedelta(days=9), tenant="acme") for i in range(30)])
    cfg = EvalsConfig(items_per_intent=12, opted_out_tenants=["globex"], channel="C0LABEL01")
    with services.db.session() as session:
        batch, items = plan_batch(session, cfg, now=T0, seed=7, tenant_channels={})
        again = plan_batch(session, cfg, now=T0, seed=7, tenant_channels={})[1]
        scoped = plan_batch(
            session, cfg.model_copy(update={"opted_out_tenants": []}), now=T0, seed=7,
            tenant_channels={"C0LABEL01": "globex"},
        )[1]  # fmt: skip
    assert len(items) == 12 and {i.tenant for i in items} == {"acme"}
    assert all(i.request_id.startswith("a") for i in items)
    assert [i.row_id for i in items] == [i.row_id for i in again] and batch.seed == 7
    assert {i.tenant for i in scoped} == {"globex"}  # a tenant's channel only ever sees that tenant
