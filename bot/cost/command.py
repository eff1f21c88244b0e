"""``/cost``: spend by cohort with burn against budget and a burn chart; budgets; reconciliation."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.access import AccessChecker, slack_group_members
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.text import render
from bot.cost.baseline import period_spend as spent_since
from bot.cost.budgets import Budget, describe_cohort, list_budgets, parse_budget_args, parse_cohort, period_bounds
from bot.cost.chart import render_chart
from bot.cost.reconcile import compare
from bot.errors import UserError
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand, Upload
from storage import cost as store
from storage.rollups import CohortStats

USAGE = (
    "`/cost [by tenant|intent|prompt_version|model|key] [1h|24h|7d|30d] [tenant=X ...]`, "
    "`/cost budget set <usd> <day|month> [tenant=X ...]`, `/cost budget list`, "
    "`/cost budget remove <day|month> [tenant=X ...]`, `/cost reconcile [7d|30d]`"
)
WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
BUCKETS = {"1h": 300, "24h": 3600, "7d": 3 * 3600, "30d": 12 * 3600}
DIMS = {
    "tenant": "tenant",
    "intent": "intent",
    "prompt_version": "prompt_version",
    "model": "model",
    "key": "api_key_id",
}
FILTERS = ("tenant", "intent", "prompt_version", "model", "key", "api_key_id")
MAX_ROWS = 15


def _fail(message: str) -> UserError:
    return UserError(f"{message}. Usage: {USAGE}")


def parse_report(text: str) -> tuple[str, str, dict[str, str]]:
    """``by <dim>``, a window and key=value filters, in any order; anything else is named and refused."""
    words = text.split()
    dim, window, rest = "tenant", "24h", []
    i = 0
    while i < len(words):
        w = words[i].lower()
        if w == "by":
            if i + 1 >= len(words):
                raise _fail("'by' needs a dimension: tenant, intent, prompt_version, model or key")
            choice = words[i + 1].lower()
            if choice not in DIMS:
                raise _fail(
                    f"'{words[i + 1][:40]}' is not a dimension; use tenant, intent, prompt_version, model or key"
                )
            dim, i = choice, i + 2
            continue
        if w in WINDOWS:
            window = w
        elif "=" in w:
            rest.append(words[i])
        else:
            raise _fail(f"'{words[i][:40]}' is not understood; windows are 1h, 24h, 7d and 30d")
        i += 1
    cohort = parse_cohort(rest, allowed=FILTERS, usage=f"Usage: {USAGE}")
    if "key" in cohort:
        if "api_key_id" in cohort:
            raise _fail("give key= or api_key_id=, not both")
        cohort["api_key_id"] = cohort.pop("key")
    return DIMS[dim], window, cohort


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


def report(services: Services, request: CommandRequest) -> CommandReply:
    """The spend view: totals, burn and projection against the budget, per-cohort rows, movers and the chart."""
    dim, window, cohort = parse_report(request.text)
    cohort = request.tenant_scope.where(cohort)
    length = WINDOWS[window]
    end = int(request.now.timestamp()) // 60 * 60 + 60
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
                lo, _ = period_bounds(bdg.period, request.now)
                k = store.cohort_json(bdg.cohort) + bdg.period
                if k not in period_spend:
                    period_spend[k] = spent_since(services, session=session, cohort=bdg.cohort, start=lo, end=end)
    total = sum(r.totals["cost_usd"] for r in rows)
    prev_total = sum(r.totals["cost_usd"] for r in before)
    prev = {r.cohort[dim]: r.totals["cost_usd"] for r in before}

    def burn_of(bdg: Budget | None, spend: float) -> tuple[float | None, float | None, float | None]:
        if bdg is None:
            return None, None, None
        lo, hi = period_bounds(bdg.period, request.now)
        pace = bdg.usd / (hi - lo)
        rate = spend / length
        spent = period_spend[store.cohort_json(bdg.cohort) + bdg.period]
        projected = spent + rate * (hi - end)
        left = 0.0 if spent >= bdg.usd else ((bdg.usd - spent) / rate if rate > 0 else None)
        return rate / pace, projected, left

    burn, projected, left = burn_of(budget, total)
    scope = describe_cohort(cohort)
    head = render(
        "cost_report.md.j2",
        total=total,
        scope=scope,
        window=window,
        requests=int(sum(r.totals["requests"] for r in rows)),
        change=(total - prev_total) / prev_total if prev_total > 0 else None,
        budget=budget,
        burn=burn or 0.0,
        projected=projected or 0.0,
        left=left,
    )
    table = []
    for r in rows[:MAX_ROWS]:
        name = r.cohort[dim] or "(none)"
        rb, rp, _ = burn_of(_exact(budgets, {**cohort, dim: r.cohort[dim]}), r.totals["cost_usd"])
        share = r.totals["cost_usd"] / total if total else 0.0
        table.append({"name": name, "cost": r.totals["cost_usd"], "share": share, "burn": rb, "projected": rp})
    names = {r.cohort[dim] for r in rows} | set(prev)
    current = {r.cohort[dim]: r.totals["cost_usd"] for r in rows}
    movers = sorted(
        ({"name": n or "(none)", "delta": current.get(n, 0.0) - prev.get(n, 0.0)} for n in names),
        key=lambda m: -abs(m["delta"]),
    )[:5]
    body = render("cost_rows.md.j2", dim="key" if dim == "api_key_id" else dim, rows=table, movers=movers)
    pace = None
    if budget is not None:
        lo, hi = period_bounds(budget.period, request.now)
        pace = budget.usd / (hi - lo)
    png = render_chart(series, start=start, end=end, pace_per_s=pace, title=f"Spend, {scope}, last {window}")
    card = Card(
        text=f"Spend on {scope}, last {window}",
        blocks=[
            b.header(f"Spend · {scope} · last {window}"[:150]),
            b.section(head),
            b.section(body),
            b.context("Chart: cumulative spend" + (" against the budget pace" if pace else "") + " (cost.png)"),
        ],
    )
    upload = Upload(filename="cost.png", content=png, title=f"Spend, {scope}, last {window}"[:200])
    return CommandReply(card=card, in_channel=True, uploads=[upload])


def _checker(services: Services) -> AccessChecker:
    if services.settings.local_mode:
        return AccessChecker(services)
    from bot.slack.client import web_client

    return AccessChecker(services, slack_group_members(web_client(services.settings)))


def budget_command(services: Services, request: CommandRequest, words: list[str]) -> CommandReply:
    """``budget set|remove`` (needs the budgets access, audited) and ``budget list``."""
    verb = words[0].lower() if words else "list"
    if verb == "list":
        scope = request.tenant_scope
        with services.db.session() as session:
            budgets = scope.keep(list_budgets(services, session=session), lambda x: x.cohort.get("tenant"))
            audit = scope.keep(
                store.list_budget_audit(session=session, limit=5 if scope.all_tenants else 200),
                lambda a: json.loads(a.cohort).get("tenant"),
            )[:5]
        lines = [
            {
                "at": a.at,
                "user_id": a.user_id,
                "action": a.action,
                "cohort": describe_cohort(json.loads(a.cohort)),
                "period": a.period,
                "old": "—" if a.old_usd is None else f"${a.old_usd:,.2f}",
                "new": "—" if a.new_usd is None else f"${a.new_usd:,.2f}",
            }
            for a in audit
        ]
        text = render("cost_budgets.md.j2", budgets=budgets, audit=lines)
        return CommandReply(card=Card(text="Budgets", blocks=[b.header("Budgets"), b.section(text)]))
    if verb not in ("set", "remove"):
        raise _fail(f"'budget {words[0][:40]}' is not a budget command; use set, remove or list")
    _checker(services).require(request.user_id, "budgets")
    if verb == "set":
        usd, period, cohort = parse_budget_args(words[1:])
        cohort = request.tenant_scope.where(cohort)
        with services.db.write_session() as session:
            old = store.set_budget(
                session=session, cohort=cohort, period=period, usd=usd, user_id=request.user_id, now=request.now
            )
        was = "new" if old is None else f"was ${old:,.2f}"
        msg = f"Budget for {describe_cohort(cohort)} set to ${usd:,.2f} per {period} ({was})."
    else:
        if len(words) < 2 or words[1].lower() not in ("day", "month"):
            raise _fail("`budget remove` needs a period (day or month) and the cohort")
        cohort = parse_cohort(words[2:], allowed=("tenant", "intent", "prompt_version", "model"), usage=USAGE)
        cohort = request.tenant_scope.where(cohort)
        with services.db.write_session() as session:
            gone = store.remove_budget(
                session=session, cohort=cohort, period=words[1].lower(), user_id=request.user_id, now=request.now
            )
        if not gone:
            raise UserError(f"no budget set from Slack for {describe_cohort(cohort)} per {words[1].lower()}")
        msg = f"Budget for {describe_cohort(cohort)} per {words[1].lower()} removed."
    return CommandReply(card=Card(text=msg, blocks=[b.section(msg)]), in_channel=True)


def reconcile_command(services: Services, request: CommandRequest, words: list[str]) -> CommandReply:
    """Per day and model: afterlaunch's cost against the provider's, flagged above the threshold."""
    request.tenant_scope.refuse_cross_tenant("reconciliation with the provider's bill")
    if len(words) > 1 or (words and words[0].lower() not in ("7d", "30d")):
        raise _fail("`reconcile` takes one optional window: 7d or 30d")
    days = 30 if words and words[0].lower() == "30d" else 7
    threshold = services.settings.file.cost.finance_gap
    last = (request.now - timedelta(days=1)).strftime("%Y-%m-%d")
    first = (request.now - timedelta(days=days)).strftime("%Y-%m-%d")
    with services.db.session() as session:
        gaps = compare(session=session, first_day=first, last_day=last)
    shown = sorted(gaps, key=lambda g: (-(g.ratio > threshold), g.day, g.model))[:40]
    items = [
        {
            "day": g.day,
            "model": g.model,
            "ours": g.ours,
            "theirs": g.theirs,
            "diff": g.diff,
            "ratio": g.ratio,
            "flag": g.ratio > threshold,
        }
        for g in shown
    ]
    text = render("cost_reconcile.md.j2", gaps=items, first=first, last=last, threshold=threshold)
    return CommandReply(
        card=Card(text="Cost reconciliation", blocks=[b.header("Cost reconciliation"), b.section(text)]),
        in_channel=True,
    )


def handle(services: Services, request: CommandRequest) -> CommandReply:
    """Route ``/cost`` to the report, budgets or reconciliation."""
    words = request.text.split()
    first = words[0].lower() if words else ""
    if first == "help":
        return CommandReply(card=Card(text="/cost usage", blocks=[b.section(f"Usage: {USAGE}")]))
    if first == "budget":
        return budget_command(services, request, words[1:])
    if first == "reconcile":
        return reconcile_command(services, request, words[1:])
    return report(services, request)


COMMAND = SlashCommand(
    name="/cost",
    description="Spend by cohort against budgets, with a burn chart; budgets; reconciliation with finance",
    usage_hint="[by tenant|intent|prompt_version|model|key] [1h|24h|7d|30d] [tenant=X] | budget ... | reconcile",
    handler=handle,
)
