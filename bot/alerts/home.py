"""The App Home's "Open alerts" section."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.alerts.cards import home_line_icon
from bot.cards import blocks as b
from bot.cards.limits import SECTION_TEXT, truncate_text
from bot.cards.text import render
from bot.services import Services
from storage import alerts as store

SHOWN = 10


def open_alerts(services: Services, now: datetime) -> list[dict[str, Any]]:
    """What is firing right now, newest first, and who has it."""
    with services.db.session() as session:
        alerts = store.list_open_alerts(session=session, limit=SHOWN)
        total = store.count_open_alerts(session=session)
    rows = [
        {
            "icon": home_line_icon(a.severity),
            "title": a.title,
            "severity": a.severity,
            "channel": a.channel,
            "starts_at": a.starts_at,
            "acked_by": a.acked_by,
        }
        for a in alerts
    ]
    text = render("alert_home.md.j2", alerts=rows, total=total, now=now)
    return [b.header("Open alerts"), b.section(truncate_text(text, SECTION_TEXT))]
