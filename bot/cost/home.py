"""The cost section of the App Home: today's spend per tenant against the budgets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.cards import blocks as b
from bot.cards.text import render
from bot.services import Services
from storage import rollups


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def spend_today(services: Services, now: datetime) -> list[dict[str, Any]]:
    """Today's spend per tenant, against the day budgets (month budgets at their daily pace)."""
    start = int(day_start(now).timestamp())
    end = int(now.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        tenants = rollups.list_cohorts(session=session, start=start, end=end, group_by=["tenant"])
    total = sum(t.totals["cost_usd"] for t in tenants)
    budgets = []
    for budget in services.settings.file.budgets:
        daily = budget.usd if budget.period == "day" else budget.usd / 30
        scope = ", ".join(f"{k}={v}" for k, v in budget.cohort.items()) or "all traffic"
        spent = total
        if set(budget.cohort) == {"tenant"}:
            spent = sum(t.totals["cost_usd"] for t in tenants if t.cohort["tenant"] == budget.cohort["tenant"])
        budgets.append({"scope": scope, "spent": spent, "daily": daily, "share": spent / daily if daily else 0})
    rows = [
        {"tenant": t.cohort["tenant"], "cost": t.totals["cost_usd"], "requests": int(t.totals["requests"])}
        for t in tenants[:10]
    ]
    text = render("home_spend.md.j2", total=total, rows=rows, budgets=budgets)
    return [b.header("Spend today (UTC)"), b.section(text)]
