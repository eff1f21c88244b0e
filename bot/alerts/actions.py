"""What the card's buttons do, as plain functions: the Slack listeners and the demo call these."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.alerts import cards
from bot.alerts.effects import Effects
from bot.alerts.service import after_change, record_flip
from bot.cards.blocks import Card
from bot.cards.text import duration
from bot.errors import UserError
from bot.services import Services
from storage import alerts as store
from storage.alerts_models import Alert

SILENCE_HOURS = {"1h": 1, "4h": 4, "24h": 24}


def parse_alert_ref(value: str) -> int:
    """The alert id a button carries; a tampered or stale value gets a clear refusal."""
    ref = value.split(":", 1)[0]
    if not ref.isdigit():
        raise UserError(f"this button does not name an alert ({value[:40]!r}); refresh the card")
    return int(ref)


def _change(services: Services, alert_id: int, now: datetime, change: Any, *, forward: bool = True) -> Alert:
    fx = Effects()
    with services.db.write_session() as session:
        alert = store.get_alert(session=session, alert_id=alert_id, lock=True)
        if alert is None:
            raise UserError(f"alert {alert_id} no longer exists")
        change(alert, fx)
        session.add(alert)
        fx.changed.add(alert_id)
        fx.card_changed(alert)
        fx.flush(session, services.settings, now)
    services.wake_outbox.set()
    after_change(services, now, forward=forward)
    return alert


def acknowledge(services: Services, alert_id: int, user: str, now: datetime, *, forward: bool = True) -> Alert:
    """Someone has it: stop the escalation, update the card, say so in its thread, tell PagerDuty."""

    def change(alert: Alert, fx: Effects) -> None:
        if alert.status == "resolved":
            raise UserError(f"“{alert.title[:80]}” is already resolved; nothing to acknowledge")
        if alert.acked_at is not None:
            raise UserError(f"“{alert.title[:80]}” was already acknowledged by {alert.acked_by}")
        alert.acked_by, alert.acked_at = user, now
        fx.timeline(alert, now, user, "acknowledged")

    return _change(services, alert_id, now, change, forward=forward)


def resolve(services: Services, alert_id: int, user: str, now: datetime, *, forward: bool = True) -> Alert:
    """Close the alert by hand; a later firing with a newer start reopens the same card."""

    def change(alert: Alert, fx: Effects) -> None:
        if alert.status == "resolved":
            raise UserError(f"“{alert.title[:80]}” is already resolved")
        alert.status, alert.resolved_by, alert.resolved_at = "resolved", user, now
        record_flip(alert, now, fx)
        fx.timeline(alert, now, user, f"resolved after {duration(now - alert.starts_at)}")

    return _change(services, alert_id, now, change, forward=forward)


def silence(services: Services, alert_id: int, user: str, choice: str, now: datetime) -> Alert:
    """No paging or escalation for a while; the card still updates."""
    hours = SILENCE_HOURS.get(choice)
    if hours is None:
        raise UserError(f"silence for {choice!r}? choose one of {', '.join(SILENCE_HOURS)}")

    def change(alert: Alert, fx: Effects) -> None:
        if alert.status == "resolved":
            raise UserError(f"“{alert.title[:80]}” is resolved; there is nothing to silence")
        alert.silenced_until, alert.silenced_by = now + timedelta(hours=hours), user
        fx.timeline(alert, now, user, f"silenced for {hours} h (no paging or escalation until then)")

    return _change(services, alert_id, now, change, forward=False)


def runbook_view(services: Services, alert_id: int) -> dict[str, Any]:
    """The modal with the alert's full runbook."""
    with services.db.session() as session:
        alert = store.get_alert(session=session, alert_id=alert_id)
    if alert is None:
        raise UserError(f"alert {alert_id} no longer exists")
    return cards.runbook_modal(alert)


def sample_requests(services: Services, alert_id: int) -> Card:
    """The ephemeral list of the evidence's request ids, each with its /triage hint."""
    with services.db.session() as session:
        alert = store.get_alert(session=session, alert_id=alert_id)
    if alert is None:
        raise UserError(f"alert {alert_id} no longer exists")
    return cards.requests_card(alert)
