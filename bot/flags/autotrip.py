"""Auto-trip (opt-in): a ``[[killswitch.auto_trip]]`` rule lets an alert kill a scoped flag by itself."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.errors import AfterlaunchError
from bot.flags.model import AFTERLAUNCH
from bot.flags.service import Change, request_change
from bot.services import Services

log = logging.getLogger(__name__)


def auto_trip(services: Services, alert_labels: dict[str, str], card_key: str | None, now: datetime) -> bool:
    """Called by the alert pipeline for each firing alert; True when a rule killed a flag (audited as afterlaunch's).

    Without a matching rule nothing happens: detectors only suggest (the card's button).
    A rule whose scope labels are missing from the alert does not fire, so a scoped
    kill never widens into a global one.
    """
    for rule in services.settings.file.killswitch.auto_trip:
        if not all(alert_labels.get(k) == v for k, v in rule.match.items()):
            continue
        if any(not alert_labels.get(d) for d in rule.scope):
            log.warning("auto-trip of %s skipped: the alert lacks a scope label (%s)", rule.flag, ", ".join(rule.scope))
            continue
        scope = {d: alert_labels[d] for d in rule.scope}
        summary = ", ".join(f"{k}={v}" for k, v in sorted(alert_labels.items()))[:500]
        change = Change(
            flag=rule.flag,
            action="kill",
            scope=scope,
            reason=f"auto-trip rule matched {', '.join(f'{k}={v}' for k, v in rule.match.items())}",
            actor=AFTERLAUNCH,
            source="alert",
            card_key=card_key or "",
            detail=summary,
        )
        try:
            outcome = request_change(services, change, access=None, now=now)
        except AfterlaunchError as exc:
            log.info("auto-trip of %s did not apply: %s", rule.flag, exc.message)
            continue
        return outcome.status == "done"
    return False
