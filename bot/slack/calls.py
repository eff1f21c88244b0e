"""Web API calls other than messages (create a channel, invite, pin, set a topic), sent through the outbox.

A capability enqueues a ``call`` message with ``post.call_api``. Arguments that
depend on something created earlier in the same queue (the id of a channel the
outbox is creating, the ts of a card it posted) are named in ``refs`` and
filled in at send time; until then the message waits, like a thread reply waits
for its parent. A message's channel may be ``ref:<card_key>`` for the same
reason: "the channel stored under that key".
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlmodel import Session, select

from bot.slack.errors import DeliveryError
from storage import outbox as store
from storage.models import OutboxMessage, SlackCard

REF = "ref:"
NAME_ATTEMPTS = 10
"""conversations.create answers ``name_taken``: try ``name-2`` … ``name-10`` before giving up."""
MAX_CHANNEL_NAME = 80
DONE_ANYWAY = {"already_in_channel", "already_pinned", "cant_invite_self"}
"""Errors that mean the call's effect is already there (a resend after a crash): success."""


class Caller(Protocol):
    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]: ...


def _lookup(session: Session, card_key: str) -> SlackCard | str:
    card = store.get_card(session=session, card_key=card_key)
    if card is not None:
        return card
    failed = session.exec(
        select(OutboxMessage.id).where(OutboxMessage.card_key == card_key, OutboxMessage.status == "failed")
    ).first()
    return "orphan" if failed is not None else "wait"


def resolve(session: Session, channel: str, payload: dict[str, Any]) -> str:
    """The real channel of a message, with a call's ``refs`` filled in; 'wait' or 'orphan' when not possible yet."""
    if channel.startswith(REF):
        card = _lookup(session, channel.removeprefix(REF))
        if isinstance(card, str):
            return card
        channel = card.channel
    refs: dict[str, list[str]] = payload.get("refs") or {}
    for arg, (card_key, part) in refs.items():
        card = _lookup(session, card_key)
        if isinstance(card, str):
            return card
        payload["args"][arg] = card.channel if part == "channel" else card.ts
    return channel


def suffixed(name: str, attempt: int) -> str:
    """``name`` for the first attempt, then ``name-2``, ``name-3`` … within Slack's length limit."""
    if attempt == 0:
        return name[:MAX_CHANNEL_NAME]
    tail = f"-{attempt + 1}"
    return name[: MAX_CHANNEL_NAME - len(tail)] + tail


def run(caller: Caller, body: dict[str, Any]) -> tuple[str, str]:
    """Make the call; returns (channel, ts) to store under the message's card key ('' when none)."""
    method, args = str(body["method"]), dict(body.get("args") or {})
    if method == "conversations.create":
        name = str(args.get("name", ""))
        for attempt in range(NAME_ATTEMPTS):
            try:
                answer = caller.call(method, {**args, "name": suffixed(name, attempt)})
            except DeliveryError as err:
                if err.code == "name_taken":
                    continue
                if err.code.startswith("invalid_name"):
                    raise DeliveryError(err.code, None) from err
                raise
            return str(answer["channel"]["id"]), ""
        raise DeliveryError("name_taken", None)
    try:
        caller.call(method, args)
    except DeliveryError as err:
        if err.code not in DONE_ANYWAY:
            raise
    return str(args.get("channel", "")), ""
