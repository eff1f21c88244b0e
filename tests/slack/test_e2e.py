"""Signed requests over real HTTP to the running service; Slack's Web API is the local stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, send, send_event, slash_body


@pytest.fixture
def service(slack_services: Services) -> Iterator[str]:
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        yield server.url


def wait_responses(fake: FakeSlack, url: str, count: int = 1, timeout: float = 10) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fake.responses(url)
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"expected {count} response(s) at {url}, got {fake.responses(url)}")


def test_signed_slash_command_is_acked_and_answered(service: str, fake_slack: FakeSlack) -> None:
    response_url = fake_slack.new_response_url()
    r = send(service, slash_body("/afterlaunch", "status", response_url=response_url))
    assert r.status_code == 200
    [answer] = wait_responses(fake_slack, response_url)
    assert "afterlaunch status" in answer.body["text"]
    assert answer.body["response_type"] == "ephemeral"


@pytest.mark.parametrize(
    ("secret", "age"),
    [("wrong-secret-0000000000", 0), (SIGNING_SECRET, 6 * 60)],
    ids=["wrong signature", "older than 5 minutes"],
)
def test_bad_signature_or_stale_request_is_refused_with_no_effect(
    service: str, fake_slack: FakeSlack, secret: str, age: int
) -> None:
    response_url = fake_slack.new_response_url()
    r = send(
        service,
        slash_body("/afterlaunch", "status", response_url=response_url),
        secret=secret,
        timestamp=int(time.time()) - age,
    )
    assert r.status_code == 401
    time.sleep(0.5)
    assert fake_slack.responses(response_url) == []


def test_unsigned_request_is_refused(service: str) -> None:
    import httpx

    r = httpx.post(f"{service}/slack/events", content=b"command=/afterlaunch&text=status", timeout=5)
    assert r.status_code == 401


def test_retried_event_acts_once(service: str, fake_slack: FakeSlack) -> None:
    event = {"type": "app_home_opened", "user": "U0ONCALL1", "tab": "home", "channel": "D0HOME"}
    assert send_event(service, event, event_id="Ev0001").status_code == 200
    assert send_event(service, event, event_id="Ev0001", retry_num=1).status_code == 200
    fake_slack.wait_for("views.publish", count=1)
    time.sleep(1.0)
    assert len(fake_slack.calls("views.publish")) == 1
    assert "Spend today" in str(fake_slack.home("U0ONCALL1"))


def test_double_clicked_button_acts_once(service: str, fake_slack: FakeSlack) -> None:
    from tests.slack_requests import block_action, interaction_body

    click = block_action("home_refresh", "home", message_ts="1795000000.000100")
    assert send(service, interaction_body(click)).status_code == 200
    assert send(service, interaction_body(click)).status_code == 200
    fake_slack.wait_for("views.publish", count=1)
    time.sleep(1.0)
    assert len(fake_slack.calls("views.publish")) == 1


def test_local_mode_refuses_slack_requests_clearly(services: Services) -> None:
    import httpx

    with BackgroundServer(create_app(services.settings, services=services)) as server:
        r = httpx.post(f"{server.url}/slack/events", content=b"x", timeout=5)
    assert r.status_code == 503
    assert "SLACK_BOT_TOKEN" in r.json()["message"]
