"""The one entry for every alert: dedupe into one living card, resolve, flapping, storms, paging.

Webhooks and afterlaunch's own detectors call ``receive``. Each alert group
(fingerprint) is one row and one card: resends and duplicate deliveries update
the card in place; a resolved delivery resolves it; an alert that keeps changing
state is marked flapping and stops paging; past ``storm_threshold`` new cards a
minute, a channel's further alerts roll up into one digest card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import orjson
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session

from bot.alerts import pagerduty
from bot.alerts.cards import recent_flips
from bot.alerts.effects import Effects
from bot.alerts.model import PAGED_SEVERITIES, AlertIn, Evidence
from bot.alerts.routing import primary_oncall, route_channel
from bot.cards.text import duration
from bot.config import Settings
from bot.services import Services
from storage import alerts as store
from storage.alerts_models import Alert

log = logging.getLogger(__name__)

STORM_WINDOW = timedelta(minutes=1)
STORM_QUIET = timedelta(minutes=2)
"""A digest keeps collecting until its channel has been quiet this long."""
FLAP_CHANGES = 4
"""State changes within an hour that make an alert flapping (fire, resolve, fire, resolve)."""
MAX_FLIPS_KEPT = 20

Action = Literal[
    "created", "digested", "updated", "resolved", "reopened", "acknowledged", "ignored", "recorded", "rejected"
]


@dataclass(frozen=True)
class Received:
    """What became of one received alert: its row, the card that shows it, and what happened."""

    fingerprint: str
    alert_id: int
    card_key: str
    channel: str
    action: Action


def receive(services: Services, alerts: list[AlertIn], now: datetime, *, forward: bool = True) -> list[Received]:
    """Apply a batch of alerts in one transaction; the cards and pages leave through the outbox.

    If the database refuses the batch's data, each half is applied on its own, down to
    the refused alerts, which come back as ``rejected``: one bad alert never holds back
    the others (a source that resends a refused batch would otherwise never get through).
    """
    if not alerts:
        return []
    try:
        return _receive_batch(services, alerts, now, forward=forward)
    except (DataError, IntegrityError) as exc:
        if len(alerts) == 1:
            state = getattr(exc.orig, "sqlstate", None) or exc.orig.__class__.__name__
            log.warning("the database refused an alert from %s (%s)", alerts[0].source, state)
            return [Received(alerts[0].fingerprint, -1, "", "", "rejected")]
        half = len(alerts) // 2
        return receive(services, alerts[:half], now, forward=forward) + receive(
            services, alerts[half:], now, forward=forward
        )


def _receive_batch(services: Services, alerts: list[AlertIn], now: datetime, *, forward: bool) -> list[Received]:
    effects = Effects()
    results: list[Received] = []
    settings = services.settings
    with services.db.write_session() as session:
        for alert in alerts:
            row, action = _apply(session, settings, alert, now, effects)
            card_key = f"alert-digest:{row.digest_id}" if row.digest_id is not None else row.card_key
            results.append(Received(alert.fingerprint, row.id, card_key, row.channel, action))  # type: ignore[arg-type]
        effects.flush(session, settings, now)
    if effects.anything:
        services.wake_outbox.set()
    if effects.changed:
        after_change(services, now, forward=forward)
    _auto_trip(services, alerts, results, now)
    return results


def _auto_trip(services: Services, alerts: list[AlertIn], results: list[Received], now: datetime) -> None:
    """Let ``[[killswitch.auto_trip]]`` rules act on alerts that just opened (or reopened), after they are stored."""
    if not services.settings.file.killswitch.auto_trip:
        return
    from bot.flags.autotrip import auto_trip

    for alert, result in zip(alerts, results, strict=True):
        if alert.status != "firing" or result.action not in ("created", "digested", "reopened", "updated"):
            continue
        try:
            auto_trip(services, alert.labels, result.card_key, now)
        except Exception:
            log.exception("auto-trip for %s failed; the card still offers the kill switch", alert.fingerprint)


def after_change(services: Services, now: datetime, *, forward: bool = True) -> None:
    """Once per unit of work that changed alert state: republish Homes, bring PagerDuty in step."""
    from bot.slack.home import RECENT_VIEWERS, refresh_homes
    from storage.outbox import list_home_viewers

    try:
        with services.db.session() as session:
            viewers = list_home_viewers(session=session, since=now - RECENT_VIEWERS)
        if viewers:  # building the Home reads rollups: skip it when nobody looks
            refresh_homes(services, now)
    except Exception:
        log.exception("could not refresh the App Homes after an alert change")
    if forward:
        pagerduty.forward_soon(services)


def _content(alert: AlertIn) -> dict[str, object]:
    evidence = _evidence_json(alert.evidence) if alert.evidence else None
    return {
        "source": alert.source,
        "title": alert.title[:2000] or "(untitled alert)",
        "severity": alert.severity,
        "tenant": alert.labels.get("tenant", "")[:128],
        "labels": orjson.dumps(alert.labels).decode(),
        "annotations": orjson.dumps(alert.annotations).decode(),
        "evidence": evidence,
        "members": orjson.dumps(alert.members).decode(),
        "generator_url": alert.generator_url,
        "dashboard_url": alert.dashboard_url,
        "silence_url": alert.silence_url,
    }


def _evidence_json(evidence: Evidence) -> str:
    return orjson.dumps(
        {
            "summary": evidence.summary,
            "figures": [list(f) for f in evidence.figures],
            "cohort": evidence.cohort,
            "sample_request_ids": evidence.sample_request_ids,
        }
    ).decode()


def _apply(session: Session, settings: Settings, alert: AlertIn, now: datetime, fx: Effects) -> tuple[Alert, Action]:
    values = {
        **_content(alert),
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "starts_at": alert.starts_at,
        "ends_at": (alert.ends_at or now) if alert.status == "resolved" else None,
        "first_seen": now,
        "last_seen": now,
        "deliveries": 1,
        "flips": "[]",
        "flapping": False,
        "card_posted": False,
        "channel": route_channel(settings, alert),
    }
    row, created = store.claim_fingerprint(session=session, values=values)
    if created:
        if alert.status == "resolved":
            return row, "recorded"  # resolved before we ever saw it fire: nothing to tell anyone yet
        return row, _open(session, settings, row, now, fx)
    row.deliveries += 1
    row.last_seen = now
    session.add(row)
    if row.source == alert.source:
        for name, value in _content(alert).items():
            setattr(row, name, value)
    if alert.status == "firing":
        return row, _firing(session, settings, row, alert, now, fx)
    if row.status == "firing":
        row.status = "resolved"
        row.ends_at = alert.ends_at or now
        record_flip(row, now, fx)
        fx.changed.add(row.id)  # type: ignore[arg-type]
        fx.card_changed(row)
        fx.timeline(row, now, None, f"resolved by {row.source} after {duration(row.ends_at - row.starts_at)}")
        return row, "resolved"
    return row, "ignored"


def _firing(session: Session, settings: Settings, row: Alert, alert: AlertIn, now: datetime, fx: Effects) -> Action:
    if row.status == "firing":
        action: Action = "updated"
        if alert.acknowledged_by and row.acked_at is None:
            row.acked_by, row.acked_at = alert.acknowledged_by[:64], now
            row.pd_sent = "acknowledge" if row.pd_sent == "trigger" else row.pd_sent
            fx.changed.add(row.id)  # type: ignore[arg-type]
            fx.timeline(row, now, None, f"acknowledged by {alert.acknowledged_by}")
            action = "acknowledged"
        fx.card_changed(row)
        return action
    ended = row.ends_at or row.resolved_at
    if ended is not None and alert.starts_at <= ended:
        return "ignored"  # an older firing delivery arriving after its resolve
    row.status, row.starts_at, row.ends_at = "firing", alert.starts_at, None
    row.acked_by = row.acked_at = row.resolved_by = row.resolved_at = None
    row.paged_user = row.paged_at = row.escalated_to = row.escalated_at = None
    if not row.card_posted and row.digest_id is None:
        return _open(session, settings, row, now, fx)
    record_flip(row, now, fx)
    fx.changed.add(row.id)  # type: ignore[arg-type]
    fx.card_changed(row)
    fx.timeline(row, now, None, "firing again")
    if not row.flapping:
        _page(settings, row, now, fx, reason="It fired again after being resolved.")
    return "reopened"


def _open(session: Session, settings: Settings, row: Alert, now: datetime, fx: Effects) -> Action:
    """A new firing alert: its own card, or a line in the channel's storm digest."""
    fx.changed.add(row.id)  # type: ignore[arg-type]
    store.lock_channel(session=session, channel=row.channel)
    digest = store.find_open_digest(session=session, channel=row.channel, since=now - STORM_QUIET)
    if digest is None:
        recent = store.count_recent_cards(session=session, channel=row.channel, since=now - STORM_WINDOW)
        if recent >= settings.file.routing.storm_threshold:
            digest = store.create_digest(session=session, channel=row.channel, now=now)
            primary = primary_oncall(settings, now)
            if primary:
                fx.page(primary, row, reason=f"An alert storm started in {row.channel}: further alerts roll up there.")
    if digest is not None:
        digest.updated_at = now
        session.add(digest)
        row.digest_id = digest.id
        fx.digests.add(digest.id)  # type: ignore[arg-type]
        return "digested"
    row.card_posted = True
    session.add(row)
    session.flush()
    fx.posts.append(row.id)  # type: ignore[arg-type]
    _page(settings, row, now, fx)
    return "created"


def _page(settings: Settings, row: Alert, now: datetime, fx: Effects, reason: str | None = None) -> None:
    """Mention and DM the on-call for a firing critical/high alert that is not silenced."""
    if row.severity not in PAGED_SEVERITIES or (row.silenced_until is not None and row.silenced_until > now):
        return
    who = primary_oncall(settings, now)
    if who is None:
        return
    row.paged_user, row.paged_at = who, now
    fx.page(who, row, reason)


def record_flip(row: Alert, now: datetime, fx: Effects) -> None:
    """Record a state change; enough of them within the hour mark the alert flapping (and say so once)."""
    flips = [*orjson.loads(row.flips), now.isoformat()][-MAX_FLIPS_KEPT:]
    row.flips = orjson.dumps(flips).decode()
    was = row.flapping
    row.flapping = len(recent_flips(row, now)) >= FLAP_CHANGES
    if row.flapping and not was:
        fx.timeline(row, now, None, f":repeat: flapping: {FLAP_CHANGES}+ state changes in the last hour; paging paused")
