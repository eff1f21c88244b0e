"""The evals section of the App Home: intents whose production rate has left the offline one, and open batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.cards import blocks as b
from bot.cards.text import render
from bot.evals.detector import divergent, load_week
from bot.services import Services
from storage import evals as store


def evals_summary(services: Services, now: datetime) -> list[dict[str, Any]]:
    """Diverging intents this week and the labelling batches still open."""
    week = load_week(services, now)
    with services.db.session() as session:
        batches = store.list_open_batches(session=session, limit=3)
    text = render(
        "evals_home.md.j2",
        diverging=[{"intent": r.intent, "gap": r.gap_points or 0.0} for r in divergent(week)][:5],
        gaps=[g.intent for g in week.coverage_gaps(services.settings.file.evals.min_count)][:5],
        batches=[{"id": x.id, "items": x.items, "created_at": x.created_at} for x in batches],
    )
    return [b.header("Evals: offline vs production"), b.section(text)]
