"""The outbox sender against the Slack stand-in: order, pacing, 429s, 5xx, updates in place."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.services import Services
from bot.slack.client import web_client
from bot.slack.post import post_card, reply_in_thread, update_card
from bot.slack.sender import OutboxSender, SlackDeliverer
from storage.models import OutboxMessage
from tests.fake_slack import FakeSlack

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def card(text: str) -> Card:
    return Card(text=text, blocks=[b.section(text)])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake_slack(clock: Clock) -> Iterator[FakeSlack]:
    """The stand-in's rate limiter runs on the same simulated clock as the sender."""
    with FakeSlack(clock=lambda: clock.now.timestamp()) as fake:
        yield fake


@pytest.fixture
def sender(slack_services: Services, clock: Clock) -> OutboxSender:
    return OutboxSender(slack_services, SlackDeliverer(web_client(slack_services.settings, retries=False)), clock=clock)


def statuses(services: Services) -> list[str]:
    with services.db.session() as s:
        return [m.status for m in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_post_then_update_in_place_then_thread(
    slack_services: Services, sender: OutboxSender, fake_slack: FakeSlack, clock: Clock
) -> None:
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0ALERTS1", card=card("firing"), now=T0, card_key="alert:1")
    assert sender.run_once() == 1
    with slack_services.db.write_session() as s:
        assert update_card(session=s, card_key="alert:1", card=card("acknowledged"), now=T0)
        assert reply_in_thread(session=s, card_key="alert:1", text="acknowledged by <@U1>", now=T0)
    sender.run_once()
    clock.advance(1.1)  # the thread reply is a post: paced like any other in the channel
    sender.run_once()
    [message] = [m for m in fake_slack.messages("C0ALERTS1") if m.thread_ts is None]
    assert message.text == "acknowledged"
    assert message.updates == 1
    posts = fake_slack.calls("chat.postMessage")
    assert len(posts) == 2  # the card, then the thread reply: never a second card
    assert posts[1].body["thread_ts"] == message.ts


def test_429_is_honoured_and_nothing_is_lost(
    slack_services: Services, sender: OutboxSender, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=2)
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0ALERTS1", card=card("one"), now=T0, card_key="c1")
    assert sender.run_once() == 0
    with slack_services.db.session() as s:
        msg = s.exec(select(OutboxMessage)).one()
    assert msg.status == "pending"
    assert msg.next_attempt_at == T0 + timedelta(seconds=2)
    clock.advance(1)
    assert sender.run_once() == 0  # Retry-After not over yet: no call
    assert len(fake_slack.calls("chat.postMessage")) == 1
    clock.advance(1.5)
    assert sender.run_once() == 1
    assert [m.text for m in fake_slack.messages("C0ALERTS1")] == ["one"]
    assert statuses(slack_services) == ["sent"]


def test_server_errors_back_off_and_permanent_errors_fail_loudly(
    slack_services: Services,
    sender: OutboxSender,
    fake_slack: FakeSlack,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=503, times=2)
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0ALERTS1", card=card("retry me"), now=T0)
    sender.run_once()
    clock.advance(3)
    sender.run_once()
    clock.advance(10)
    assert sender.run_once() == 1
    assert len(fake_slack.calls("chat.postMessage")) == 3
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0GONE001", card=card("lost channel"), now=clock.now)
    sender.run_once()
    assert statuses(slack_services) == ["sent", "failed"]
    assert "channel_not_found" in caplog.text


def test_posts_to_one_channel_are_paced_about_one_per_second(
    slack_services: Services, sender: OutboxSender, fake_slack: FakeSlack, clock: Clock
) -> None:
    with slack_services.db.write_session() as s:
        for i in range(5):
            post_card(session=s, channel="C0BUSY001", card=card(f"card {i}"), now=T0)
        post_card(session=s, channel="C0OTHER01", card=card("elsewhere"), now=T0)
    assert sender.run_once() == 2  # one per channel
    assert sender.run_once() == 0
    for _ in range(4):
        clock.advance(1.1)
        assert sender.run_once() == 1
    assert [m.text for m in fake_slack.messages("C0BUSY001")] == [f"card {i}" for i in range(5)]
    assert not [c for c in fake_slack.calls("chat.postMessage") if c.status == 429]


def test_pending_updates_of_one_card_collapse_into_the_newest(
    slack_services: Services, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    with slack_services.db.write_session() as s:
        post_card(session=s, channel="C0ALERTS1", card=card("v0"), now=T0, card_key="k")
    sender.run_once()
    with slack_services.db.write_session() as s:
        for i in range(1, 6):
            update_card(session=s, card_key="k", card=card(f"v{i}"), now=T0)
    sender.run_once()
    assert len(fake_slack.calls("chat.update")) == 1
    assert fake_slack.messages("C0ALERTS1")[0].text == "v5"
