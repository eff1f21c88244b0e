"""Who is on call: placeholder until the calendar lands."""

from __future__ import annotations

from datetime import datetime

from bot.alerts.routing import primary_oncall
from bot.services import Services


def now_and_next_text(services: Services, now: datetime) -> str:
    who = primary_oncall(services.settings, now)
    return f"Now: {who}" if who else "Nobody is on call."
