"""What the rest of afterlaunch calls to say something in Slack: everything goes through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.cards.blocks import Card
from storage import outbox as store
from storage.models import OutboxMessage


def post_card(*, session: Session, channel: str, card: Card, now: datetime, card_key: str | None = None) -> None:
    """Post a card; with a ``card_key`` later changes update this very message."""
    store.enqueue(session=session, kind="post", channel=channel, payload=card.to_message(), now=now, card_key=card_key)
    follow_up = card.thread_message()
    if follow_up and card_key:
        store.enqueue(session=session, kind="post", channel=channel, payload=follow_up, now=now, thread_key=card_key)


def card_channel(*, session: Session, card_key: str) -> str | None:
    card = store.get_card(session=session, card_key=card_key)
    if card is not None:
        return card.channel
    first = session.exec(
        select(OutboxMessage.channel)
        .where(OutboxMessage.card_key == card_key, OutboxMessage.kind == "post")
        .order_by(col(OutboxMessage.id))
    ).first()
    return first


def update_card(*, session: Session, card_key: str, card: Card, now: datetime) -> bool:
    """Replace a posted card's content in place; False when no such card was ever posted."""
    channel = card_channel(session=session, card_key=card_key)
    if channel is None:
        return False
    store.enqueue(
        session=session, kind="update", channel=channel, payload=card.to_message(), now=now, card_key=card_key
    )
    return True


def reply_in_thread(
    *, session: Session, card_key: str, text: str, now: datetime, blocks: list[Any] | None = None
) -> bool:
    """A line in the card's thread (timelines: who did what, when)."""
    channel = card_channel(session=session, card_key=card_key)
    if channel is None:
        return False
    payload = Card(text=text, blocks=blocks or []).to_message()
    store.enqueue(session=session, kind="post", channel=channel, payload=payload, now=now, thread_key=card_key)
    return True


def send_dm(*, session: Session, user: str, card: Card, now: datetime) -> None:
    store.enqueue(session=session, kind="dm", channel=user, user=user, payload=card.to_message(), now=now)


def send_ephemeral(*, session: Session, channel: str, user: str, card: Card, now: datetime) -> None:
    store.enqueue(session=session, kind="ephemeral", channel=channel, user=user, payload=card.to_message(), now=now)


def publish_home(*, session: Session, user: str, view: dict[str, Any], now: datetime) -> None:
    store.enqueue(session=session, kind="home", channel=f"home:{user}", user=user, payload={"view": view}, now=now)


def call_api(
    *,
    session: Session,
    channel: str,
    method: str,
    args: dict[str, Any],
    now: datetime,
    refs: dict[str, tuple[str, str]] | None = None,
    card_key: str | None = None,
) -> None:
    """A Web API call through the outbox (see ``bot.slack.calls``); ``card_key`` stores what it created."""
    payload = {"method": method, "args": args, "refs": {k: list(v) for k, v in (refs or {}).items()}}
    store.enqueue(session=session, kind="call", channel=channel, payload=payload, now=now, card_key=card_key)
