"""What an incident says in Slack, all through the outbox: its channel, card, pins, topic, updates."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlmodel import Session

from bot.cards.blocks import Card
from bot.slack.calls import REF
from bot.slack.post import call_api, post_card, update_card
from storage.incidents_models import Incident

MAX_NAME = 80
TOPIC_LIMIT = 250


def channel_name(prefix: str, title: str, now: datetime) -> str:
    """``inc-20261126-openai-5xx-above-5``: lowercase letters, digits and hyphens, within 80 characters."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-") or "incident"
    name = f"{prefix}-{now:%Y%m%d}-{slug}"
    # Room for the "-10" a name_taken retry may append.
    return name[: MAX_NAME - 3].rstrip("-")


def in_channel(incident: Incident) -> str:
    """The outbox channel of the incident's own Slack channel (resolved once it exists)."""
    return f"{REF}{incident.channel_key}"


def open_channel(
    *,
    session: Session,
    incident: Incident,
    invitees: list[str],
    card: Card,
    runbook: Card | None,
    now: datetime,
    alert_card: Card | None = None,
) -> None:
    """Create the channel, invite people, post and pin the card (and runbook), set the topic."""
    key = incident.channel_key
    call_api(
        session=session,
        channel=key,
        method="conversations.create",
        args={"name": incident.channel_name},
        now=now,
        card_key=key,
    )
    here = in_channel(incident)
    if invitees:
        call_api(
            session=session,
            channel=here,
            method="conversations.invite",
            args={"users": ",".join(invitees)},
            now=now,
            refs={"channel": (key, "channel")},
        )
    post_card(session=session, channel=here, card=card, now=now, card_key=incident.card_key)
    pin(session=session, incident=incident, card_key=incident.card_key, now=now)
    if alert_card is not None:
        alert_key = f"incident:{incident.id}:alert"
        post_card(session=session, channel=here, card=alert_card, now=now, card_key=alert_key)
        pin(session=session, incident=incident, card_key=alert_key, now=now)
    if runbook is not None:
        runbook_key = f"incident:{incident.id}:runbook"
        post_card(session=session, channel=here, card=runbook, now=now, card_key=runbook_key)
        pin(session=session, incident=incident, card_key=runbook_key, now=now)
    set_topic(session=session, incident=incident, now=now)


def pin(*, session: Session, incident: Incident, card_key: str, now: datetime) -> None:
    """Pin a message the outbox posted in the incident channel."""
    call_api(
        session=session,
        channel=in_channel(incident),
        method="pins.add",
        args={},
        now=now,
        refs={"channel": (incident.channel_key, "channel"), "timestamp": (card_key, "ts")},
    )


def set_topic(*, session: Session, incident: Incident, now: datetime) -> None:
    """The channel topic is the status line: severity, state, roles, the latest update."""
    call_api(
        session=session,
        channel=in_channel(incident),
        method="conversations.setTopic",
        args={"topic": topic(incident)[:TOPIC_LIMIT]},
        now=now,
        refs={"channel": (incident.channel_key, "channel")},
    )


def topic(incident: Incident) -> str:
    """One line a person joining the channel reads first."""
    parts = [incident.severity.upper(), incident.status.upper()]
    if incident.commander:
        parts.append(f"IC <@{incident.commander}>")
    if incident.status_line:
        parts.append(incident.status_line)
    return " | ".join(parts)


def say(*, session: Session, incident: Incident, card: Card, now: datetime) -> None:
    """A message in the incident channel."""
    post_card(session=session, channel=in_channel(incident), card=card, now=now)


def refresh_card(*, session: Session, incident: Incident, card: Card, now: datetime) -> None:
    """The pinned card follows the incident's state."""
    update_card(session=session, card_key=incident.card_key, card=card, now=now)
