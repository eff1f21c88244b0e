"""The blast radius of a kill: how much of the last hour's traffic and spend its scope covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.flags.model import Scope
from bot.services import Services
from storage import rollups

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Blast:
    requests: int
    cost_usd: float
    total_requests: int
    total_cost_usd: float

    @property
    def request_share(self) -> float:
        return self.requests / self.total_requests if self.total_requests else 0.0

    @property
    def cost_share(self) -> float:
        return self.cost_usd / self.total_cost_usd if self.total_cost_usd else 0.0


def _totals(stats: list[rollups.CohortStats]) -> tuple[int, float]:
    return int(sum(s.totals.get("requests", 0) for s in stats)), float(sum(s.totals.get("cost_usd", 0) for s in stats))


def blast_radius(services: Services, scopes: list[Scope], now: datetime) -> Blast:
    """Share of the last hour covered by the scopes ({} = everything); overlapping scopes are capped at the total."""
    end = int(now.timestamp()) // 60 * 60 + 60
    start = end - WINDOW_SECONDS
    with services.db.session() as session:
        total_requests, total_cost = _totals(rollups.list_cohorts(session=session, start=start, end=end))
        requests, cost = 0, 0.0
        for scope in scopes:
            if not scope:
                requests, cost = total_requests, total_cost
                break
            r, c = _totals(rollups.list_cohorts(session=session, start=start, end=end, where=dict(scope)))
            requests, cost = requests + r, cost + c
    return Blast(min(requests, total_requests), min(cost, total_cost), total_requests, total_cost)
