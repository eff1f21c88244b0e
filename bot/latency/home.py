"""The latency section of the App Home: each budget against the last hour's percentiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.cards import blocks as b
from bot.cards.text import render
from bot.latency.report import budget_states
from bot.services import Services


def _ms(v: float | None) -> str:
    return "—" if v is None else (f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.0f} ms")


def budgets_section(services: Services, now: datetime) -> list[dict[str, Any]]:
    """Budgets kept or broken over the last hour, worst first; nothing to show without budgets."""
    cfg = services.settings.file.latency
    if not cfg.budgets:
        return []
    end = int(now.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        states = budget_states(session=session, cfg=cfg, start=end - 3600, end=end)
    items = [
        {
            "scope": st.budget.describe(),
            "over": st.over,
            "requests": st.requests,
            "checks": [
                {"name": n, "limit": _ms(lim), "value": _ms(v), "over": v is not None and v > lim}
                for n, lim, v in st.checks
            ],
        }
        for st in sorted(states, key=lambda st: not st.over)
    ]
    return [b.header("Latency budgets (last hour)"), b.section(render("latency_home.md.j2", budgets=items))]
