"""What a unit of alert work says in Slack, gathered so each card is rendered and enqueued once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.alerts.cards import digest_card, page_card, timeline_text, triage_card
from bot.alerts.routing import primary_oncall
from bot.config import Settings
from bot.slack.post import card_channel, post_card, reply_in_thread, send_dm, update_card
from storage import alerts as store
from storage.alerts_models import Alert


@dataclass
class Effects:
    """Cards to post or update, digests to refresh, thread lines and DMs, in the order they happened."""

    posts: list[int] = field(default_factory=list)
    updates: set[int] = field(default_factory=set)
    digests: set[int] = field(default_factory=set)
    thread: list[tuple[int, datetime, str | None, str]] = field(default_factory=list)
    dms: list[tuple[str, int, str | None]] = field(default_factory=list)
    changed: set[int] = field(default_factory=set)
    """Alerts whose state changed (not a mere resend): the App Home and PagerDuty follow these."""

    def card_changed(self, alert: Alert) -> None:
        """The alert's card (its own, or its storm digest) must show the new state."""
        if alert.digest_id is not None:
            self.digests.add(alert.digest_id)
        elif alert.card_posted and alert.id not in self.posts:
            self.updates.add(alert.id)  # type: ignore[arg-type]

    def timeline(self, alert: Alert, now: datetime, who: str | None, what: str) -> None:
        """A line in the card's thread; alerts rolled into a digest have no thread of their own."""
        if alert.card_posted and alert.digest_id is None:
            self.thread.append((alert.id, now, who, what))  # type: ignore[arg-type]

    def page(self, user: str, alert: Alert, reason: str | None = None) -> None:
        """DM the paged person; a user group is mentioned on the card instead (a group has no DM)."""
        if user.startswith(("U", "W")):
            self.dms.append((user, alert.id, reason))  # type: ignore[arg-type]

    def flush(self, session: Session, settings: Settings, now: datetime) -> None:
        """Render every touched card once, in its final state, and enqueue it with the state change."""
        session.flush()
        for alert_id in self.posts:
            alert = store.get_alert(session=session, alert_id=alert_id)
            if alert is not None:
                post_card(
                    session=session,
                    channel=alert.channel,
                    card=triage_card(alert, now),
                    now=now,
                    card_key=alert.card_key,
                )
        for alert_id in sorted(self.updates):
            alert = store.get_alert(session=session, alert_id=alert_id)
            if alert is not None:
                update_card(session=session, card_key=alert.card_key, card=triage_card(alert, now), now=now)
        for digest_id in sorted(self.digests):
            self._digest(session, settings, digest_id, now)
        for alert_id, when, who, what in self.thread:
            reply_in_thread(session=session, card_key=f"alert:{alert_id}", text=timeline_text(when, who, what), now=now)
        for user, alert_id, reason in self.dms:
            alert = store.get_alert(session=session, alert_id=alert_id)
            if alert is not None:
                send_dm(session=session, user=user, card=page_card(alert, reason), now=now)

    def _digest(self, session: Session, settings: Settings, digest_id: int, now: datetime) -> None:
        digest = store.get_digest(session=session, digest_id=digest_id)
        if digest is None:
            return
        alerts = store.list_digest_alerts(session=session, digest_id=digest_id)
        card = digest_card(digest, alerts, now, primary_oncall(settings, now))
        if card_channel(session=session, card_key=digest.card_key) is None:
            post_card(session=session, channel=digest.channel, card=card, now=now, card_key=digest.card_key)
        else:
            update_card(session=session, card_key=digest.card_key, card=card, now=now)

    @property
    def anything(self) -> bool:
        """Whether something was enqueued, so the sender is only woken when there is work."""
        return bool(self.posts or self.updates or self.digests or self.thread or self.dms)
