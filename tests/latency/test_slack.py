"""/latency through a signed Slack request to the running service, answered via the Web API stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.latency.world import World
from bot.services import Services
from tests.fake_slack import FakeSlack
from tests.latency.helpers import write_rows
from tests.slack_requests import send, slash_body


@pytest.fixture
def service(slack_services: Services) -> Iterator[str]:
    end = int(datetime.now(UTC).timestamp()) // 60 * 60
    write_rows(slack_services, World().rows(end - 3 * 3600, end))
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        yield server.url


def _answer(fake: FakeSlack, url: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fake.responses(url)
        if got:
            return got[0].body
        time.sleep(0.1)
    raise AssertionError(f"no answer at {url}")


def test_signed_latency_command_is_answered_with_the_table(service: str, fake_slack: FakeSlack) -> None:
    url = fake_slack.new_response_url()
    assert send(service, slash_body("/latency", "billing_question by tenant 24h", response_url=url)).status_code == 200
    body = _answer(fake_slack, url)
    text = str(body)
    assert "intent=billing_question" in text and "By tenant" in text and "acme" in text


def test_an_unknown_intent_gets_a_helpful_ephemeral_reply(service: str, fake_slack: FakeSlack) -> None:
    url = fake_slack.new_response_url()
    assert send(service, slash_body("/latency", "billing_questoin", response_url=url)).status_code == 200
    body = _answer(fake_slack, url)
    assert body["response_type"] == "ephemeral"
    assert "billing_questoin" in str(body) and "billing_question" in str(body) and "deep_rag" in str(body)
