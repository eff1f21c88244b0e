"""Escalation policies: ``[[oncall.escalation]]`` steps replace the single timer.

Each step notifies someone ``after_minutes`` after the page: the on-call person,
the secondary, a user group, or a channel. A step that finds nobody passes to
the next one at once. An acknowledgement stops everything. Progress is kept per
alert in the database, so a restart or another leader carries on where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.alerts.config import EscalationStep
from bot.alerts.effects import Effects
from bot.alerts.routing import mention, primary_oncall, secondary_oncall
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.text import Mrkdwn
from bot.services import Services
from bot.slack.post import post_card
from storage import incidents as store
from storage.alerts_models import Alert

MembersOf = Callable[[str], set[str]]


def _paged_unacked(session: Session, now: datetime) -> list[Alert]:
    stmt = select(Alert).where(
        Alert.status == "firing", col(Alert.paged_at).is_not(None), col(Alert.acked_at).is_(None)
    )
    return [
        a for a in session.exec(stmt.order_by(col(Alert.id))) if a.silenced_until is None or a.silenced_until <= now
    ]


def targets(
    services: Services, step: EscalationStep, alert: Alert, now: datetime, members_of: MembersOf | None
) -> list[str]:
    """Who a step reaches (user ids, a group id or a channel id); empty when it finds nobody."""
    settings = services.settings
    if step.notify == "oncall":
        found = primary_oncall(settings, now)
        return [found] if found else []
    if step.notify == "secondary":
        found = secondary_oncall(settings, now)
        return [found] if found and found != alert.paged_user else []
    if step.notify.startswith("S"):
        if members_of is None:
            return [step.notify]
        return [step.notify] if members_of(step.notify) else []
    return [step.notify]


def escalate_steps(services: Services, now: datetime, members_of: MembersOf | None = None) -> int:
    """Run every minute: take each unacknowledged page through the steps that are due."""
    steps = services.settings.file.oncall.escalation
    if members_of is None and not services.settings.local_mode:
        from bot.access import slack_group_members
        from bot.slack.client import web_client

        members_of = slack_group_members(web_client(services.settings))
    fx = Effects()
    notified = 0
    with services.db.write_session() as session:
        for alert in _paged_unacked(session, now):
            done = store.get_escalation_step(session=session, alert_id=alert.id)  # type: ignore[arg-type]
            passing = False
            while done < len(steps):
                step = steps[done]
                due = alert.paged_at + timedelta(minutes=step.after_minutes) <= now  # type: ignore[operator]
                if not (due or passing):
                    break
                done += 1
                reached = targets(services, step, alert, now, members_of)
                label = f"step {done} ({step.notify}, {step.after_minutes} min)"
                if not reached:
                    fx.timeline(alert, now, None, f"escalation {label} found nobody: passing to the next step")
                    passing = True
                    continue
                passing = False
                notified += _notify(session, services, fx, alert, reached, label, now)
            store.set_escalation_step(session=session, alert_id=alert.id, step=done, now=now)  # type: ignore[arg-type]
            session.add(alert)
            fx.card_changed(alert)
        fx.flush(session, services.settings, now)
    if notified:
        services.wake_outbox.set()
    return notified


def _notify(
    session: Session, services: Services, fx: Effects, alert: Alert, reached: list[str], label: str, now: datetime
) -> int:
    for who in reached:
        if who.startswith(("C", "G")):
            text = f"<!channel> escalation {label}: “{alert.title[:200]}” is not acknowledged."
            post_card(session=session, channel=who, card=Card(text=text, blocks=[b.section(text)]), now=now)
        elif who != alert.paged_user or not label.startswith("step 1 "):
            fx.page(who, alert, reason=f"Not acknowledged: escalation {label} reached you.")
    alert.escalated_to, alert.escalated_at = reached[0][:64], now
    names = ", ".join(f"<#{w}>" if w.startswith(("C", "G")) else mention(w) for w in reached)
    fx.timeline(alert, now, None, Mrkdwn(f"escalation {label}: notified {names}"))
    fx.changed.add(alert.id)  # type: ignore[arg-type]
    return 1
