"""The /cost spend view in two steps: what the database says (query), and what it means (maths).

The card that shows it is in ``bot/cost/cards.py``; ``bot/cost/command.py`` only parses and wires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.cost.baseline import period_spend as spent_since
from bot.cost.budgets import Budget, describe_cohort, list_budgets, period_bounds
from bot.services import Services
from storage import cost as store
from storage.rollups import CohortStats

WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
BUCKETS = {"1h": 300, "24h": 3600, "7d": 3 * 3600, "30d": 12 * 3600}
MAX_ROWS = 15


@dataclass
class SpendQuery:
    """What one /cost report read: spend per value of ``dim`` now and the window before, budgets, period spend."""

    dim: str
    window: str
    cohort: dict[str, str]
    start: int
    end: int
    rows: list[CohortStats]
    series: list[tuple[int, float]]
    before: list[CohortStats]
    budgets: list[Budget]
    budget: Budget | None
    period_spend: dict[str, float]


@dataclass
class SpendReport:
    """The figures a /cost card shows."""

    scope: str
    window: str
    dim: str
    total: float
    requests: int
    change: float | None
    budget: Budget | None
    burn: float | None
    projected: float | None
    left: float | None
    table: list[dict[str, object]]
    movers: list[dict[str, object]]
    series: list[tuple[int, float]]
    start: int
    end: int
    pace: float | None


def _exact(budgets: list[Budget], cohort: dict[str, str]) -> Budget | None:
    same = [x for x in budgets if x.cohort == cohort]
    return min(same, key=lambda x: x.period != "day") if same else None


def _totals(
    spend: list[tuple[int | None, tuple[str, ...], float, int]], dim: str
) -> tuple[list[CohortStats], list[tuple[int, float]]]:
    """Per-value totals (largest spend first) and the spend series, from one ``list_spend`` answer."""
    per: dict[str, CohortStats] = {}
    series: dict[int, float] = {}
    for bucket, (value,), cost, requests in spend:
        stats = per.setdefault(value, CohortStats(cohort={dim: value}, totals={"cost_usd": 0.0, "requests": 0}))
        stats.totals["cost_usd"] += cost
        stats.totals["requests"] += requests
        if bucket is not None:
            series[bucket] = series.get(bucket, 0.0) + cost
    return sorted(per.values(), key=lambda s: -s.totals["cost_usd"]), sorted(series.items())


def query_spend(services: Services, *, dim: str, window: str, cohort: dict[str, str], now: datetime) -> SpendQuery:
    """Read everything the report needs in one session."""
    length = WINDOWS[window]
    end = int(now.timestamp()) // 60 * 60 + 60
    start = end - length
    with services.db.session() as session:
        spend = store.list_spend(
            session=session, start=start, end=end, group_by=[dim], bucket_seconds=BUCKETS[window], where=cohort
        )
        rows, series = _totals(spend, dim)
        before, _ = _totals(
            store.list_spend(session=session, start=start - length, end=start, group_by=[dim], where=cohort), dim
        )
        budgets = list_budgets(services, session=session)
        budget = _exact(
            budgets, {k: v for k, v in cohort.items() if k != "api_key_id"} if "api_key_id" not in cohort else cohort
        )
        period_spend: dict[str, float] = {}
        for bdg in [budget, *[_exact(budgets, {**cohort, dim: r.cohort[dim]}) for r in rows[:MAX_ROWS]]]:
            if bdg is not None:
                lo, _ = period_bounds(bdg.period, now)
                k = store.cohort_json(bdg.cohort) + bdg.period
                if k not in period_spend:
                    period_spend[k] = spent_since(services, session=session, cohort=bdg.cohort, start=lo, end=end)
    return SpendQuery(dim, window, cohort, start, end, rows, series, before, budgets, budget, period_spend)


def figures(q: SpendQuery, now: datetime) -> SpendReport:
    """Burn against the budget pace, projection, time left, per-cohort rows and the top movers."""
    dim, rows, before, budgets, cohort, end = q.dim, q.rows, q.before, q.budgets, q.cohort, q.end
    length = WINDOWS[q.window]
    total = sum(r.totals["cost_usd"] for r in rows)
    prev_total = sum(r.totals["cost_usd"] for r in before)
    prev = {r.cohort[dim]: r.totals["cost_usd"] for r in before}

    def burn_of(bdg: Budget | None, spend: float) -> tuple[float | None, float | None, float | None]:
        if bdg is None:
            return None, None, None
        lo, hi = period_bounds(bdg.period, now)
        pace = bdg.usd / (hi - lo)
        rate = spend / length
        spent = q.period_spend[store.cohort_json(bdg.cohort) + bdg.period]
        projected = spent + rate * (hi - end)
        left = 0.0 if spent >= bdg.usd else ((bdg.usd - spent) / rate if rate > 0 else None)
        return rate / pace, projected, left

    burn, projected, left = burn_of(q.budget, total)
    table: list[dict[str, object]] = []
    for r in rows[:MAX_ROWS]:
        name = r.cohort[dim] or "(none)"
        rb, rp, _ = burn_of(_exact(budgets, {**cohort, dim: r.cohort[dim]}), r.totals["cost_usd"])
        share = r.totals["cost_usd"] / total if total else 0.0
        table.append({"name": name, "cost": r.totals["cost_usd"], "share": share, "burn": rb, "projected": rp})
    names = {r.cohort[dim] for r in rows} | set(prev)
    current = {r.cohort[dim]: r.totals["cost_usd"] for r in rows}
    movers: list[dict[str, object]] = sorted(
        ({"name": n or "(none)", "delta": current.get(n, 0.0) - prev.get(n, 0.0)} for n in names),
        key=lambda m: -abs(m["delta"]),  # type: ignore[arg-type]
    )[:5]
    pace = None
    if q.budget is not None:
        lo, hi = period_bounds(q.budget.period, now)
        pace = q.budget.usd / (hi - lo)
    return SpendReport(
        scope=describe_cohort(cohort),
        window=q.window,
        dim="key" if dim == "api_key_id" else dim,
        total=total,
        requests=int(sum(r.totals["requests"] for r in rows)),
        change=(total - prev_total) / prev_total if prev_total > 0 else None,
        budget=q.budget,
        burn=burn,
        projected=projected,
        left=left,
        table=table,
        movers=movers,
        series=q.series,
        start=q.start,
        end=q.end,
        pace=pace,
    )
