"""The card's buttons, clicked through signed Slack requests to the running service."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.alerts.service import receive
from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services
from tests.alerts.helpers import detector_alert
from tests.fake_slack import FakeSlack
from tests.slack_requests import block_action, interaction_body, send


@pytest.fixture
def service(slack_services: Services, fake_slack: FakeSlack) -> Iterator[str]:
    fake_slack.add_channel("C0ONCALL01", "ai-oncall")
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        yield server.url


def _card(slack_services: Services, fake_slack: FakeSlack) -> tuple[int, str]:
    from datetime import UTC, datetime

    [r] = receive(slack_services, [detector_alert()], datetime.now(UTC), forward=False)
    [post] = fake_slack.wait_for("chat.postMessage", 1, timeout=10)
    return r.alert_id, post.response["ts"]


def _wait(check, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_acknowledge_button_updates_the_card_and_threads_a_line(
    service: str, slack_services: Services, fake_slack: FakeSlack
) -> None:
    alert_id, ts = _card(slack_services, fake_slack)
    body = block_action("alert_ack", str(alert_id), channel="C0ONCALL01", message_ts=ts)
    assert send(service, interaction_body(body)).status_code == 200
    fake_slack.wait_for("chat.update", 1, timeout=10)
    _wait(lambda: any(m.thread_ts == ts for m in fake_slack.messages("C0ONCALL01")), "the timeline line")
    card = next(m for m in fake_slack.messages("C0ONCALL01") if m.ts == ts)
    assert "Acknowledged" in str(card.blocks) and "alert_ack" not in str(card.blocks)
    [line] = [m for m in fake_slack.messages("C0ONCALL01") if m.thread_ts == ts]
    assert "<@U0ONCALL1> acknowledged" in line.text


def test_silence_select_runbook_modal_and_show_requests(
    service: str, slack_services: Services, fake_slack: FakeSlack
) -> None:
    alert_id, ts = _card(slack_services, fake_slack)
    select = block_action("alert_silence", "", channel="C0ONCALL01", message_ts=ts)
    select["actions"][0] = {
        "action_id": "alert_silence",
        "type": "static_select",
        "block_id": "b1",
        "selected_option": {"value": f"{alert_id}:1h", "text": {"type": "plain_text", "text": "1 h"}},
    }
    assert send(service, interaction_body(select)).status_code == 200
    _wait(lambda: any("silenced for 1 h" in m.text for m in fake_slack.messages("C0ONCALL01")), "the silence line")

    runbook = block_action(
        "alert_runbook", str(alert_id), channel="C0ONCALL01", message_ts=ts, trigger_id=fake_slack.new_trigger_id()
    )
    assert send(service, interaction_body(runbook)).status_code == 200
    [opened] = fake_slack.wait_for("views.open", 1, timeout=10)
    assert not opened.failed and "one tenant is driving the spend" in str(opened.body)

    response_url = fake_slack.new_response_url()
    show = block_action("alert_requests", str(alert_id), channel="C0ONCALL01", message_ts=ts, response_url=response_url)
    assert send(service, interaction_body(show)).status_code == 200
    _wait(lambda: bool(fake_slack.responses(response_url)), "the ephemeral list")
    [answer] = fake_slack.responses(response_url)
    assert answer.body["response_type"] == "ephemeral" and "/triage req_a1" in str(answer.body)
