"""What ``/latency`` shows, as data: percentiles per group from the rollups' histograms, budgets, the tail.

Every figure comes from merged rollup histograms (never raw rows): one read of the window's
rows, folded at once into the groups, the time series and the tail; one more for the period before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.latency.config import LatencyBudget, LatencyConfig
from bot.latency.fold import Group, fold, provider_of, regroup
from storage import latency as store

WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
STEPS = {"1h": 300, "24h": 3600, "7d": 6 * 3600, "30d": 86400}
DIMENSIONS = ("path", "intent", "model", "tenant", "provider")
QS = (0.5, 0.95, 0.99)
TAIL_MIN_REQUESTS = 20
MAX_ROWS = 12


@dataclass
class Row:
    """One group of the table."""

    name: str
    requests: int
    share: float
    p50: float | None
    p95: float | None
    p99: float | None
    p95_before: float | None
    budget: str | None = None
    ttft_p95: float | None = None


@dataclass
class BudgetState:
    """A budget against the window's percentiles: every limit it sets and whether each is kept."""

    budget: LatencyBudget
    checks: list[tuple[str, float, float | None]]
    requests: int

    @property
    def over(self) -> bool:
        return any(v is not None and v > limit for _, limit, v in self.checks)


@dataclass
class Report:
    window: str
    dim: str
    scope: dict[str, str]
    start: int
    end: int
    total: Group
    before: Group
    rows: list[Row]
    budgets: list[BudgetState]
    tail: list[tuple[str, str, float, int]]
    """(dimension, name, median, requests) of the tenants and intents whose median is above the overall P95."""
    series: dict[str, dict[int, Group]] = field(default_factory=dict)
    """path -> time slot -> group, for the chart."""


def _state(budget: LatencyBudget, group: Group) -> BudgetState:
    names = {0.5: "P50", 0.95: "P95", 0.99: "P99"}
    checks = [(names[q], limit, group.percentile(q)) for q, limit in sorted(budget.limits().items())]
    if budget.ttft_p95_ms is not None:
        checks.append(("TTFT P95", budget.ttft_p95_ms, group.ttft_percentile(0.95)))
    return BudgetState(budget=budget, checks=checks, requests=group.requests)


def _cohort(row: store.LatencyRow) -> tuple[str, str, str, str]:
    return (row.tenant, row.intent, row.path, row.model)


def _dim_of(dim: str) -> Callable[[Hashable], Hashable]:
    """A cohort key's value for a grouping; ``provider`` comes from the model."""
    if dim == "provider":
        return lambda c: provider_of(c[3])  # type: ignore[index]
    i = ("tenant", "intent", "path", "model").index(dim)
    return lambda c: c[i]  # type: ignore[index]


def _matches(budget: LatencyBudget, tenant: str, intent: str, path: str, model: str) -> bool:
    return (
        intent == budget.intent
        and (budget.path is None or path == budget.path)
        and (budget.tenant is None or tenant == budget.tenant)
    )


def relevant_budgets(cfg: LatencyConfig, scope: dict[str, str]) -> list[LatencyBudget]:
    """The budgets a view scoped to one intent or path can judge from its own rows."""
    if "intent" in scope:
        return [b for b in cfg.budgets if b.intent == scope["intent"]]
    if "path" in scope:
        return [b for b in cfg.budgets if b.path == scope["path"]]
    return list(cfg.budgets)


def build_report(
    *, session: Session, cfg: LatencyConfig, window: str, dim: str, scope: dict[str, str], end: int
) -> Report:
    """The whole ``/latency`` view over the trailing ``window`` up to ``end`` (exclusive, epoch seconds)."""
    length, step = WINDOWS[window], STEPS[window]
    start = end - length
    rows = store.list_latency_rows(session=session, start=start, end=end, where=scope)
    budgets = relevant_budgets(cfg, scope)
    # Two groupings per row (cohort, and path by time slot); everything else merges cohorts.
    cohorts, slots = fold(rows, _cohort, lambda r: (r.path, (r.bucket - start) // step))
    prev_rows = store.list_latency_rows(session=session, start=start - length, end=start, where=scope)
    (before_cohorts,) = fold(prev_rows, _cohort)
    total = regroup(cohorts, lambda c: "all").get("all", Group())
    by_dim = regroup(cohorts, _dim_of(dim))
    tenants = regroup(cohorts, lambda c: c[0])  # type: ignore[index]
    intents = regroup(cohorts, lambda c: c[1])  # type: ignore[index]
    per_budget = [regroup(cohorts, lambda c, b=b: "in" if _matches(b, *c) else None) for b in budgets]
    before = regroup(before_cohorts, lambda c: "all").get("all", Group())
    before_dim = regroup(before_cohorts, _dim_of(dim))
    states = [_state(b, g.get("in", Group())) for b, g in zip(budgets, per_budget, strict=True)]
    table = []
    for name, g in sorted(by_dim.items(), key=lambda kv: -kv[1].requests)[:MAX_ROWS]:
        prev = before_dim.get(name)
        table.append(
            Row(
                name=str(name) or "(none)",
                requests=g.requests,
                share=g.requests / total.requests if total.requests else 0.0,
                p50=g.percentile(0.5),
                p95=g.percentile(0.95),
                p99=g.percentile(0.99),
                p95_before=prev.percentile(0.95) if prev else None,
                budget=_row_budget(states, dim, str(name), scope),
                ttft_p95=g.ttft_percentile(0.95),
            )
        )
    overall_p95 = total.percentile(0.95)
    tail: list[tuple[str, str, float, int]] = []
    if overall_p95 is not None:
        for label, groups in (("tenant", tenants), ("intent", intents)):
            for name, g in groups.items():
                median = g.percentile(0.5)
                if g.measured >= TAIL_MIN_REQUESTS and median is not None and median > overall_p95:
                    tail.append((label, str(name), median, g.requests))
    tail.sort(key=lambda t: -t[2])
    series: dict[str, dict[int, Group]] = {}
    for key, g in slots.items():
        path, slot = _pair(key)
        series.setdefault(path, {})[start + slot * step] = g
    return Report(
        window=window,
        dim=dim,
        scope=scope,
        start=start,
        end=end,
        total=total,
        before=before,
        rows=table,
        budgets=states,
        tail=tail[:8],
        series=series,
    )


def _pair(key: Hashable) -> tuple[str, int]:
    path, slot = key  # type: ignore[misc]
    return str(path), int(slot)


def _row_budget(states: list[BudgetState], dim: str, name: str, scope: dict[str, str]) -> str | None:
    """'over' or 'ok' for a row that is exactly one budget's scope (an intent, or a path within the intent)."""
    for st in states:
        b = st.budget
        if b.tenant is not None:
            continue
        if dim == "intent" and b.intent == name and b.path is None:
            return "over" if st.over else "ok"
        if dim == "path" and scope.get("intent") == b.intent and b.path == name:
            return "over" if st.over else "ok"
    return None


def budget_states(*, session: Session, cfg: LatencyConfig, start: int, end: int) -> list[BudgetState]:
    """Every configured budget against the percentiles of [start, end), from the rollups."""
    intents = sorted({b.intent for b in cfg.budgets})
    if not intents:
        return []
    rows = store.list_latency_rows(session=session, start=start, end=end, intents=intents)
    (cohorts,) = fold(rows, _cohort)
    return [
        _state(b, regroup(cohorts, lambda c, b=b: "in" if _matches(b, *c) else None).get("in", Group()))
        for b in cfg.budgets
    ]
