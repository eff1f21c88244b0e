"""Escalation: a paged card nobody acknowledged within N minutes goes to the secondary."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.alerts.effects import Effects
from bot.alerts.routing import mention, secondary_oncall
from bot.alerts.service import after_change
from bot.cards.text import Mrkdwn
from bot.scheduler import Job
from bot.services import Services
from storage import alerts as store

log = logging.getLogger(__name__)


def escalate_due(services: Services, now: datetime) -> int:
    """Run every minute: escalate each overdue page once, and say so in the card's thread."""
    settings = services.settings
    if settings.file.oncall.escalation:
        from bot.oncall.escalation import escalate_steps

        stepped = escalate_steps(services, now)
        if stepped:
            after_change(services, now, forward=False)
        _forward_lagging(services, now)
        return stepped
    minutes = settings.file.oncall.escalate_after_minutes
    fx = Effects()
    with services.db.write_session() as session:
        due = store.list_due_escalations(session=session, paged_before=now - timedelta(minutes=minutes), now=now)
        for alert in due:
            secondary = secondary_oncall(settings, now)
            alert.escalated_at = now
            if secondary is None or secondary == alert.paged_user:
                fx.timeline(alert, now, None, f"not acknowledged within {minutes} min, and no secondary is configured")
            else:
                alert.escalated_to = secondary
                fx.page(secondary, alert, reason=f"Not acknowledged within {minutes} min: escalated to you.")
                text = Mrkdwn(f"not acknowledged within {minutes} min: escalated to {mention(secondary)}")
                fx.timeline(alert, now, None, text)
            session.add(alert)
            fx.changed.add(alert.id)  # type: ignore[arg-type]
            fx.card_changed(alert)
        fx.flush(session, settings, now)
    if due:
        log.info("escalated %d unacknowledged alert(s)", len(due))
        services.wake_outbox.set()
        after_change(services, now, forward=False)
    _forward_lagging(services, now)
    return len(due)


def _forward_lagging(services: Services, now: datetime) -> None:
    if services.settings.pagerduty_routing_key is not None:
        from bot.alerts.pagerduty import forward_lagging

        forward_lagging(services, now)  # the retry path for forwards that failed earlier


JOBS = [Job(id="alerts_escalate", run=escalate_due, trigger="interval", trigger_args={"minutes": 1})]
