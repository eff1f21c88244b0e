"""The simulated world of bench/cost_sim.py: 20 tenants' traffic as rollup rows, and the six causes as events.

Clean traffic is a per-minute Poisson count per cohort (tenant x intent) following the
demo's daily cycle, with day-to-day drift per tenant and per-request cost noise; its
cost per request is calibrated on ``make_event`` events priced by the real price table,
so the rollups written directly here and the events ingested around an injection agree.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from bot.demo.traffic import INTENT_WEIGHTS, INTENTS, TrafficShape, daily_weight, make_event
from bot.ingest.pricing import PriceTable
from storage import rollups
from storage.models import COHORT_DIMENSIONS

DAY = 86400
TENANTS = tuple(f"t{i:02d}" for i in range(20))
INTENT_NAMES = tuple(INTENT_WEIGHTS)
BASE_MODELS = ("gpt-4o-mini", "claude-haiku-4-5")
UPGRADES = {"gpt-4o-mini": "gpt-4o", "claude-haiku-4-5": "claude-opus-4-1"}
VERSION = "support-v13"
MEAN_WEIGHT = float(
    np.mean([daily_weight(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=m)) for m in range(1440)])
)


def event_cost(prices: PriceTable, e: dict[str, Any]) -> float:
    """What ingest will charge for this event."""
    price = prices.price_of(e["model"])
    assert price is not None, e["model"]
    return price.cost(e["input_tokens"], e["output_tokens"], e["cached_tokens"])


@dataclass
class World:
    """One seed's clean traffic: counts and spend per minute and cohort, for ``days`` days from ``start``."""

    start: int
    days: int
    tenants: tuple[str, ...]
    models: dict[str, str]
    cohorts: list[tuple[str, str, str, str]]  # (tenant, intent, path, prompt_version)
    counts: np.ndarray  # [minute, cohort] requests
    cost: np.ndarray  # [minute, cohort] USD
    in_tokens: np.ndarray
    out_tokens: np.ndarray

    def minute_index(self, ts: int) -> int:
        return (ts - self.start) // 60

    def tenant_share(self) -> dict[str, float]:
        """Each tenant's share of all spend over the simulated days."""
        total = float(self.cost.sum())
        per = self.cost.sum(axis=0)
        out: dict[str, float] = {}
        for j, (tenant, *_) in enumerate(self.cohorts):
            out[tenant] = out.get(tenant, 0.0) + float(per[j]) / total
        return out

    def row(self, bucket: int, j: int, counts: float, cost: float, tin: float, tout: float) -> dict[str, Any]:
        return cohort_row(bucket, self.cohorts[j], self.models, counts, cost, tin, tout)


def cohort_row(
    bucket: int,
    cohort: tuple[str, str, str, str],
    models: dict[str, str],
    counts: float,
    cost: float,
    tin: float,
    tout: float,
) -> dict[str, Any]:
    """One rollup row as ``storage.rollups.accumulate`` would produce it (latency left out)."""
    tenant, intent, path, version = cohort
    r: dict[str, Any] = {"bucket": bucket}
    dims = {
        "tenant": tenant,
        "intent": intent,
        "category": intent,
        "path": path,
        "prompt_version": version,
        "model": models[tenant],
        "api_key_id": f"key-{tenant}-prod",
    }
    for d in COHORT_DIMENSIONS:
        r[d] = dims[d]
    r.update(dict.fromkeys(rollups.SUMMED, 0))
    r.update(
        requests=int(counts),
        cost_usd=float(cost),
        input_tokens=int(tin),
        output_tokens=int(tout),
        latency_sum_ms=0.0,
        latency_hist="{}",
    )
    return r


def calibrate(prices: PriceTable, samples: int = 300) -> dict[tuple[str, str], tuple[float, float, float, float]]:
    """(intent, model) -> mean cost, cost CV, mean input and output tokens, from real events priced for real."""
    rng = random.Random(1)
    out = {}
    ts = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for model in BASE_MODELS:
        shape = TrafficShape(tenants=("x",), models={model: 1.0}, prompt_versions=(VERSION,))
        by_intent: dict[str, list[dict[str, Any]]] = {i: [] for i in INTENT_NAMES}
        while min(len(v) for v in by_intent.values()) < samples:
            e = make_event(rng, ts, shape=shape)
            by_intent[e["intent"]].append(e)
        for intent, events in by_intent.items():
            costs = np.array([event_cost(prices, e) for e in events])
            out[(intent, model)] = (
                float(costs.mean()),
                float(costs.std() / costs.mean()),
                float(np.mean([e["input_tokens"] for e in events])),
                float(np.mean([e["output_tokens"] for e in events])),
            )
    return out


def build_world(
    seed: int,
    *,
    start: int,
    days: int,
    per_minute: float,
    calib: dict[tuple[str, str], tuple[float, ...]],
    tenants: tuple[str, ...] = TENANTS,
) -> World:
    """Counts and spend of every minute and cohort: daily cycle, per-tenant daily drift, Poisson and cost noise."""
    rng = np.random.default_rng(seed)
    weights = np.array([1 / (i + 1) ** 0.9 for i in range(len(tenants))])
    weights /= weights.sum()
    models = {t: BASE_MODELS[i % 2] for i, t in enumerate(tenants)}
    cohorts = [(t, i, INTENTS[i]["paths"][0][0], VERSION) for t in tenants for i in INTENT_NAMES]
    iw = np.array([INTENT_WEIGHTS[i] for _, i, *_ in cohorts])
    tw = np.array([weights[tenants.index(t)] for t, *_ in cohorts])
    cycle = np.array([daily_weight(datetime.fromtimestamp(start + m * 60, UTC)) for m in range(1440)]) / MEAN_WEIGHT
    drift = rng.lognormal(0.0, 0.08, size=(days, len(tenants)))  # a tenant's busier or quieter day
    tix = np.array([tenants.index(t) for t, *_ in cohorts])
    rate = per_minute * np.tile(cycle, days)[:, None] * (tw * iw)[None, :] * np.repeat(drift[:, tix], 1440, axis=0)
    counts = rng.poisson(rate)
    mean = np.array([calib[(i, models[t])][0] for t, i, *_ in cohorts])
    cv = np.array([calib[(i, models[t])][1] for t, i, *_ in cohorts])
    noise = 1 + rng.standard_normal(counts.shape) * cv[None, :] / np.sqrt(np.maximum(counts, 1))
    cost = counts * mean[None, :] * np.clip(noise, 0.2, None)
    tin = counts * np.array([calib[(i, models[t])][2] for t, i, *_ in cohorts])[None, :]
    tout = counts * np.array([calib[(i, models[t])][3] for t, i, *_ in cohorts])[None, :]
    return World(start, days, tenants, models, cohorts, counts, cost, tin, tout)


def write_world(
    conn: Any,
    world: World,
    *,
    minutes: tuple[int, int] | None,
    hole: tuple[str, int, int] | None = None,
    hours: bool = True,
) -> int:
    """Upsert hourly rows for every day and minute rows for ``minutes`` ([lo, hi) epoch s; None = all).

    ``hole`` (tenant, lo, hi) leaves that tenant's traffic out of [lo, hi): ingest writes it instead.
    """
    written = 0
    counts, cost, tin, tout = world.counts, world.cost, world.in_tokens, world.out_tokens
    if hole is not None:
        tenant, lo, hi = hole
        cols = [j for j, (t, *_) in enumerate(world.cohorts) if t == tenant]
        a, b = max(0, world.minute_index(lo)), min(counts.shape[0], world.minute_index(hi))
        counts, cost, tin, tout = counts.copy(), cost.copy(), tin.copy(), tout.copy()
        for arr in (counts, cost, tin, tout):
            arr[a:b, cols] = 0
    if hours:
        n_hours = counts.shape[0] // 60
        hc = counts[: n_hours * 60].reshape(n_hours, 60, -1).sum(axis=1)
        hcost = cost[: n_hours * 60].reshape(n_hours, 60, -1).sum(axis=1)
        hin = tin[: n_hours * 60].reshape(n_hours, 60, -1).sum(axis=1)
        hout = tout[: n_hours * 60].reshape(n_hours, 60, -1).sum(axis=1)
        rows = []
        for h, j in zip(*np.nonzero(hc), strict=True):
            rows.append(world.row(world.start + int(h) * 3600, int(j), hc[h, j], hcost[h, j], hin[h, j], hout[h, j]))
        written += _upsert(conn, rollups.HOUR, rows)
    lo_m, hi_m = (
        (0, counts.shape[0]) if minutes is None else (world.minute_index(minutes[0]), world.minute_index(minutes[1]))
    )
    lo_m, hi_m = max(0, lo_m), min(counts.shape[0], hi_m)
    for chunk in range(lo_m, hi_m, 1440):
        sub = counts[chunk : min(hi_m, chunk + 1440)]
        rows = [
            world.row(
                world.start + (chunk + int(m)) * 60,
                int(j),
                sub[m, j],
                cost[chunk + m, j],
                tin[chunk + m, j],
                tout[chunk + m, j],
            )
            for m, j in zip(*np.nonzero(sub), strict=True)
        ]
        written += _upsert(conn, rollups.MINUTE, rows)
    return written


def _upsert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> int:
    rows.sort(key=lambda r: (r["bucket"], *(r[d] for d in COHORT_DIMENSIONS)))
    for i in range(0, len(rows), 5000):
        rollups.upsert(conn, table, [tuple(r[c] for c in rollups.UPSERT_COLUMNS) for r in rows[i : i + 5000]])
    return len(rows)


def normal_events(world: World, rng: random.Random, tenant: str, minute_ts: int) -> list[dict[str, Any]]:
    """The tenant's requests of one minute as real events, as many as the world's counts say."""
    m = world.minute_index(minute_ts)
    n = int(sum(world.counts[m, j] for j, (t, *_) in enumerate(world.cohorts) if t == tenant))
    shape = TrafficShape(tenants=(tenant,), models={world.models[tenant]: 1.0}, prompt_versions=(VERSION,))
    return [
        make_event(rng, datetime.fromtimestamp(minute_ts + rng.uniform(0, 59.9), UTC), shape=shape, tenant=tenant)
        for _ in range(n)
    ]


def inject(
    cause: str, events: list[dict[str, Any]], *, rng: random.Random, prices: PriceTable, state: dict[str, Any]
) -> list[dict[str, Any]]:
    """One minute of the tenant's traffic with ``cause`` at work: about 4x its spend, with the cause's signature."""
    base = sum(event_cost(prices, e) for e in events)
    target = 3 * base
    if cause == "prompt_regression":
        for e in events:
            price = prices.price_of(e["model"])
            assert price is not None
            c = event_cost(prices, e)
            e.update(prompt_version="support-v14", cached_tokens=0)
            e["input_tokens"] += math.ceil(3 * c * 1_000_000 / price.input)
        return events
    if cause == "model_upgrade":
        # Calls move to the pricier model until the minute's extra spend reaches 3x its base, as the
        # other causes add calls until theirs does: 4x every minute, not only on average (a coin
        # flip per call left a quiet night-time minute with one upgraded call where five were due).
        extra_spend = 0.0
        for e in rng.sample(events, len(events)):
            if extra_spend >= target:
                break
            served = UPGRADES[e["model"]]
            before = event_cost(prices, e)
            e.update(model=served, provider="openai" if served.startswith("gpt") else "anthropic")
            extra_spend += event_cost(prices, e) - before
        return events
    extra: list[dict[str, Any]] = []
    spent = 0.0
    tenant = state["tenant"]
    shape = TrafficShape(tenants=(tenant,), models={state["model"]: 1.0}, prompt_versions=(VERSION,))
    while spent < target and events:
        ts = datetime.fromtimestamp(rng.uniform(state["from"], state["minute"] + 59.9), UTC)
        e = make_event(rng, ts, shape=shape, tenant=tenant)
        if cause == "runaway_agent_loop":
            k = state.setdefault("calls", 0) % 3
            state["calls"] += 1
            e.update(
                trace_id=f"t_loop_{state['seed']}_{k}", session_id=f"s_{tenant}_loop{k}", agent_step=state["calls"]
            )
        elif cause == "retry_storm":
            e["attempt"] = rng.choice((2, 3, 4))
            if rng.random() < 0.5:
                e.update(status="error", response=None, finish_reason=None, output_tokens=0)
        elif cause == "leaked_api_key":
            e.update(
                api_key_id=f"key-unregistered-{state['seed']}",
                client_ip=f"203.0.113.{rng.randint(1, 254)}",
                session_id=None,
            )
            e.pop("user_id", None)
        elif cause != "noisy_tenant":
            raise ValueError(cause)
        spent += event_cost(prices, e)
        extra.append(e)
    return events + extra


def write_cost_world(
    conn: Any, *, seed: int, start: int, days: int, requests: int, calib: dict[tuple[str, str], tuple[float, ...]]
) -> tuple[int, int, int]:
    """The rollup rows ``requests`` logged requests over ``days`` would leave, cohorts down to path and prompt version.

    Written a day at a time (minute rows, then that day's hourly rows); returns (requests, minute rows, hour rows).
    """
    rng = np.random.default_rng(seed)
    weights = np.array([1 / (i + 1) ** 0.9 for i in range(len(TENANTS))])
    weights /= weights.sum()
    models = {t: BASE_MODELS[i % 2] for i, t in enumerate(TENANTS)}
    cohorts, w = [], []
    for ti, t in enumerate(TENANTS):
        for intent in INTENT_NAMES:
            for path, pw in INTENTS[intent]["paths"]:
                for version, vw in (("support-v12", 0.3), ("support-v13", 0.7)):
                    cohorts.append((t, intent, path, version))
                    w.append(weights[ti] * INTENT_WEIGHTS[intent] * pw * vw)
    wv = np.array(w) / sum(w)
    mean = np.array([calib[(i, models[t])][0] for t, i, *_ in cohorts])
    tin_m = np.array([calib[(i, models[t])][2] for t, i, *_ in cohorts])
    tout_m = np.array([calib[(i, models[t])][3] for t, i, *_ in cohorts])
    cycle = np.array([daily_weight(datetime.fromtimestamp(start + m * 60, UTC)) for m in range(1440)]) / MEAN_WEIGHT
    per_minute = requests / (days * 1440)
    total = n_min = n_hour = 0
    for d in range(days):
        counts = rng.poisson(per_minute * cycle[:, None] * wv[None, :])
        cost = counts * mean[None, :]
        day0 = start + d * DAY
        total += int(counts.sum())
        rows = [
            cohort_row(
                day0 + int(m) * 60,
                cohorts[j],
                models,
                counts[m, j],
                cost[m, j],
                counts[m, j] * tin_m[j],
                counts[m, j] * tout_m[j],
            )
            for m, j in zip(*np.nonzero(counts), strict=True)
        ]
        n_min += _upsert(conn, rollups.MINUTE, rows)
        hc, hcost = counts.reshape(24, 60, -1).sum(axis=1), cost.reshape(24, 60, -1).sum(axis=1)
        rows = [
            cohort_row(
                day0 + int(h) * 3600,
                cohorts[j],
                models,
                hc[h, j],
                hcost[h, j],
                hc[h, j] * tin_m[j],
                hc[h, j] * tout_m[j],
            )
            for h, j in zip(*np.nonzero(hc), strict=True)
        ]
        n_hour += _upsert(conn, rollups.HOUR, rows)
    return total, n_min, n_hour
