"""The outbox sender: a crash between Slack's answer and the mark posts nothing twice; pace survives failover."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.services import Services
from bot.slack.client import web_client
from bot.slack.post import post_card, reply_in_thread, update_card
from bot.slack.sender import CARD_UPDATE_INTERVAL, UPDATE_INTERVAL, OutboxSender, SlackDeliverer
from storage.models import OutboxMessage
from storage.outbox import CLAIM_SECONDS
from tests.fake_slack import FakeSlack

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Crash(BaseException):
    """The process dies: nothing after this point runs (BaseException, so no handler catches it)."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake_slack(clock: Clock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=lambda: clock.now.timestamp()) as fake:
        yield fake


def new_sender(services: Services, clock: Clock) -> OutboxSender:
    """A sender as a freshly elected leader builds it: nothing in memory from the one before."""
    return OutboxSender(services, SlackDeliverer(web_client(services.settings, retries=False)), clock=clock)


def card(text: str) -> Card:
    return Card(text=text, blocks=[b.section(text)])


def crash_after_slack_answers(sender: OutboxSender, monkeypatch: pytest.MonkeyPatch) -> None:
    def finish(message_id: int, now: datetime, **kw: Any) -> int:
        if kw.get("ts"):
            raise Crash("killed between Slack's answer and the mark")
        return real(message_id, now, **kw)

    real = sender._finish
    monkeypatch.setattr(sender, "_finish", finish)


def statuses(services: Services) -> list[str]:
    with services.db.session() as s:
        return [m.status for m in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))]


@pytest.mark.parametrize("threaded", [False, True], ids=["card", "thread reply"])
def test_a_post_that_reached_slack_before_a_crash_is_not_posted_again(
    slack_services: Services, fake_slack: FakeSlack, clock: Clock, monkeypatch: pytest.MonkeyPatch, threaded: bool
) -> None:
    first = new_sender(slack_services, clock)
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0ALERTS1", card=card("firing"), now=T0, card_key="alert:1")
    if threaded:
        assert first.run_once() == 1
        with slack_services.db.write_session() as s:
            assert reply_in_thread(session=s, card_key="alert:1", text="acknowledged by <@U1>", now=T0)
        clock.advance(1.1)
    crash_after_slack_answers(first, monkeypatch)
    with pytest.raises(Crash):
        first.run_once()
    posts_before = len(fake_slack.calls("chat.postMessage"))
    assert statuses(slack_services)[-1] == "pending"  # Slack has it; our mark does not

    clock.advance(CLAIM_SECONDS + 1)  # the dead sender's lease runs out
    second = new_sender(slack_services, clock)
    assert second.run_once() == 1
    assert len(fake_slack.calls("chat.postMessage")) == posts_before  # looked up, not posted again
    assert statuses(slack_services)[-1] == "sent"
    lookup = "conversations.replies" if threaded else "conversations.history"
    assert len(fake_slack.calls(lookup)) == 1

    with slack_services.db.write_session() as s:
        assert update_card(session=s, card_key="alert:1", card=card("resolved"), now=clock.now)
    clock.advance(5)
    assert second.run_once() == 1
    top = [m for m in fake_slack.messages("C0ALERTS1") if m.thread_ts is None]
    assert [m.text for m in top] == ["resolved"]  # the update found the card the crashed sender posted
    assert len([m for m in fake_slack.messages("C0ALERTS1") if m.thread_ts]) == (1 if threaded else 0)


def test_a_post_that_never_reached_slack_is_sent_after_the_crash(
    slack_services: Services, fake_slack: FakeSlack, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = new_sender(slack_services, clock)
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0ALERTS1", card=card("firing"), now=T0, card_key="alert:2")

    def die(*args: Any, **kw: Any) -> Any:
        raise Crash("killed before Slack was called")

    monkeypatch.setattr(first.deliverer, "post", die)
    with pytest.raises(Crash):
        first.run_once()
    clock.advance(CLAIM_SECONDS + 1)
    assert new_sender(slack_services, clock).run_once() == 1
    assert [m.text for m in fake_slack.messages("C0ALERTS1")] == ["firing"]


def test_every_post_carries_its_outbox_id_in_metadata(
    slack_services: Services, fake_slack: FakeSlack, clock: Clock
) -> None:
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0ALERTS1", card=card("firing"), now=T0, card_key="alert:3")
    with slack_services.db.session() as s:
        outbox_id = s.exec(select(OutboxMessage.id)).one()
    new_sender(slack_services, clock).run_once()
    [call] = fake_slack.calls("chat.postMessage")
    assert call.body["metadata"] == {"event_type": "afterlaunch_outbox", "event_payload": {"outbox_id": outbox_id}}


def test_updates_are_paced_per_channel_and_per_card(
    slack_services: Services, fake_slack: FakeSlack, clock: Clock
) -> None:
    sender = new_sender(slack_services, clock)
    with slack_services.db.write_session() as s:
        for i in range(6):
            post_card(session=s, channel="C0DIGEST1", card=card(f"card {i}"), now=T0, card_key=f"d:{i}")
    for _ in range(70):
        sender.run_once()
        clock.advance(0.1)
    start = clock.now
    for step in range(200):  # 20 s: every card changes every tick, as a busy digest does
        with slack_services.db.write_session() as s:
            for i in range(6):
                update_card(session=s, card_key=f"d:{i}", card=card(f"card {i} v{step}"), now=clock.now)
        sender.run_once()
        clock.advance(0.1)
    updates = [c for c in fake_slack.calls("chat.update") if c.at >= start.timestamp()]
    times = [c.at for c in updates]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(updates) >= 10  # updates still flow
    assert min(gaps) >= UPDATE_INTERVAL.total_seconds() - 1e-6
    per_card: dict[str, list[float]] = {}
    for c in updates:
        per_card.setdefault(c.body["ts"], []).append(c.at)
    for ats in per_card.values():
        assert all(b - a >= CARD_UPDATE_INTERVAL.total_seconds() - 1e-6 for a, b in itertools.pairwise(ats))


def test_retry_after_is_honoured_in_full(slack_services: Services, fake_slack: FakeSlack, clock: Clock) -> None:
    sender = new_sender(slack_services, clock)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=5)
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0ALERTS1", card=card("one"), now=T0)
    sender.run_once()
    clock.advance(4.99)
    assert sender.run_once() == 0
    assert new_sender(slack_services, clock).run_once() == 0  # a new leader waits too
    assert len(fake_slack.calls("chat.postMessage")) == 1
    clock.advance(0.02)
    assert sender.run_once() == 1


def test_a_new_leader_keeps_the_pace_of_the_old_one(
    slack_services: Services, fake_slack: FakeSlack, clock: Clock
) -> None:
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0BUSY001", card=card("first"), now=T0)
        post_card(session=s, channel="C0BUSY001", card=card("second"), now=T0)
    assert new_sender(slack_services, clock).run_once() == 1
    clock.advance(0.5)
    assert new_sender(slack_services, clock).run_once() == 0  # failover: the pace is in the database
    clock.advance(0.6)
    assert new_sender(slack_services, clock).run_once() == 1
    assert [m.text for m in fake_slack.messages("C0BUSY001")] == ["first", "second"]
