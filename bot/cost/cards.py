"""The cards of /cost: the spend view with its chart, budgets, reconciliation."""

from __future__ import annotations

from typing import Any

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.text import render
from bot.cost.budgets import Budget
from bot.cost.chart import render_chart
from bot.cost.report import SpendReport
from bot.slack.registry import Upload


def report_card(r: SpendReport) -> tuple[Card, Upload]:
    """Totals, burn and projection against the budget, per-cohort rows and movers; the burn chart beside it."""
    head = render("cost_report.md.j2", **{**vars(r), "burn": r.burn or 0.0, "projected": r.projected or 0.0})
    body = render("cost_rows.md.j2", dim=r.dim, rows=r.table, movers=r.movers)
    png = render_chart(
        r.series, start=r.start, end=r.end, pace_per_s=r.pace, title=f"Spend, {r.scope}, last {r.window}"
    )
    card = Card(
        text=f"Spend on {r.scope}, last {r.window}",
        blocks=[
            b.header(f"Spend · {r.scope} · last {r.window}"[:150]),
            b.section(head),
            b.section(body),
            b.context("Chart: cumulative spend" + (" against the budget pace" if r.pace else "") + " (cost.png)"),
        ],
    )
    return card, Upload(filename="cost.png", content=png, title=f"Spend, {r.scope}, last {r.window}"[:200])


def budgets_card(budgets: list[Budget], audit: list[dict[str, Any]]) -> Card:
    text = render("cost_budgets.md.j2", budgets=budgets, audit=audit)
    return Card(text="Budgets", blocks=[b.header("Budgets"), b.section(text)])


def reconcile_card(items: list[dict[str, Any]], *, first: str, last: str, threshold: float) -> Card:
    text = render("cost_reconcile.md.j2", gaps=items, first=first, last=last, threshold=threshold)
    return Card(text="Cost reconciliation", blocks=[b.header("Cost reconciliation"), b.section(text)])


def message_card(message: str) -> Card:
    return Card(text=message, blocks=[b.section(message)])
