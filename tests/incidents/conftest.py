"""A running service with every installed capability, against the Slack stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services
from tests.fake_slack import FakeSlack


def wait(check: Callable[[], object], what: str, timeout: float = 15) -> None:
    """Poll until ``check`` is true (the outbox sends from its own thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def service(slack_services: Services, fake_slack: FakeSlack) -> Iterator[str]:
    """The real service over HTTP, as installed (bot/capabilities.py), against the Slack stand-in."""
    fake_slack.add_channel("C0ONCALL01", "ai-oncall")
    fake_slack.add_channel("C0UPDATES1", "incident-updates")
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        yield server.url
