"""Stratified, seeded samples of production traffic into labelling batches.

Strata are (intent, prompt_version): every intent gets ``items_per_intent`` items, shared among its
prompt versions in proportion to their traffic (largest remainder, at least one each while there is
room), so a new version with little traffic still gets looked at. The same window and seed always
give the same sample, so a batch can be explained and redrawn.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from bot.evals.config import EvalsConfig
from storage.evals_models import EvalBatch, EvalBatchItem
from storage.models import LLMRequest, RequestBody

DEFAULT_WINDOW = timedelta(days=7)

Stratum = tuple[str, str]


@dataclass(frozen=True)
class Candidate:
    row_id: int
    tenant: str
    request_id: str
    intent: str
    prompt_version: str


def allocate(sizes: dict[str, int], budget: int) -> dict[str, int]:
    """Share ``budget`` items among strata by size: one each first (largest first), then largest remainders.

    A stratum never gets more than it holds; what a small one cannot take goes to the others.
    """
    live = sorted((k for k, n in sizes.items() if n > 0), key=lambda k: (-sizes[k], k))
    if not live or budget <= 0:
        return {}
    out = {k: 0 for k in live}
    for k in live[:budget]:
        out[k] = 1
    left = min(budget, sum(sizes[k] for k in live)) - sum(out.values())
    while left > 0:
        open_ = [k for k in live if out[k] < sizes[k]]
        total = sum(sizes[k] for k in open_)
        exact = {k: left * sizes[k] / total for k in open_}
        given = {k: min(int(exact[k]), sizes[k] - out[k]) for k in open_}
        rest = left - sum(given.values())
        for k in sorted(open_, key=lambda k: (-(exact[k] - int(exact[k])), k)):
            if rest <= 0:
                break
            if out[k] + given[k] < sizes[k]:
                given[k] += 1
                rest -= 1
        for k in open_:
            out[k] += given[k]
        left -= sum(given.values())
    return {k: v for k, v in out.items() if v > 0}


def draw(candidates: list[Candidate], per_intent: int, seed: int) -> list[Candidate]:
    """The stratified sample: per intent, per prompt version, a seeded draw; ordered by intent then version."""
    strata: dict[Stratum, list[Candidate]] = defaultdict(list)
    for c in candidates:
        strata[(c.intent, c.prompt_version)].append(c)
    rng = random.Random(seed)
    chosen: list[Candidate] = []
    for intent in sorted({i for i, _ in strata}):
        versions = {v: len(strata[(i, v)]) for i, v in strata if i == intent}
        for version, k in sorted(allocate(versions, per_intent).items()):
            pool = sorted(strata[(intent, version)], key=lambda c: c.row_id)
            chosen.extend(sorted(rng.sample(pool, k), key=lambda c: c.row_id))
    return chosen


def list_candidates(
    session: Session, *, start_ms: int, end_ms: int, excluded: list[str], only_tenant: str | None
) -> list[Candidate]:
    """Requests in the window that have an intent and a stored body (a purged answer cannot be labelled)."""
    stmt = (
        select(LLMRequest.id, LLMRequest.tenant, LLMRequest.request_id, LLMRequest.intent, LLMRequest.prompt_version)
        .join(RequestBody, RequestBody.id == LLMRequest.id)
        .where(LLMRequest.ts_ms >= start_ms, LLMRequest.ts_ms < end_ms, LLMRequest.intent != "")
    )
    if excluded:
        stmt = stmt.where(col(LLMRequest.tenant).not_in(excluded))
    if only_tenant is not None:
        stmt = stmt.where(LLMRequest.tenant == only_tenant)
    return [Candidate(int(i), t, r, intent, pv) for i, t, r, intent, pv in session.execute(stmt)]


def channel_tenant(cfg: EvalsConfig, tenant_channels: dict[str, str]) -> str | None:
    """A labelling channel mapped to one tenant only ever receives that tenant's requests."""
    return tenant_channels.get(cfg.channel or "")


def plan_batch(
    session: Session,
    cfg: EvalsConfig,
    *,
    now: datetime,
    seed: int,
    tenant_channels: dict[str, str],
    window: timedelta = DEFAULT_WINDOW,
) -> tuple[EvalBatch, list[EvalBatchItem]]:
    """The batch and its items for the window ending at ``now`` (nothing is written here)."""
    end_ms = int(now.timestamp() * 1000)
    start_ms = end_ms - int(window.total_seconds() * 1000)
    candidates = list_candidates(
        session,
        start_ms=start_ms,
        end_ms=end_ms,
        excluded=list(cfg.opted_out_tenants),
        only_tenant=channel_tenant(cfg, tenant_channels),
    )
    chosen = draw(candidates, cfg.items_per_intent, seed)
    batch = EvalBatch(
        created_at=now, window_start_ms=start_ms, window_end_ms=end_ms, seed=seed, channel=cfg.channel or "", items=0
    )
    items = [
        EvalBatchItem(
            batch_id=0,
            position=n,
            row_id=c.row_id,
            tenant=c.tenant,
            request_id=c.request_id,
            intent=c.intent,
            prompt_version=c.prompt_version,
        )
        for n, c in enumerate(chosen, 1)
    ]
    return batch, items
