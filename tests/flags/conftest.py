"""Fixtures for kill switches: services whose config defines flags and grants the killswitch access."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from bot.config import FileConfig, Settings
from bot.services import Services, build_services
from tests.fake_slack import FakeSlack
from tests.slack_requests import interaction_body, send

ONCALL = "U0ONCALL1"
SECOND = "U0SECOND1"
STRANGER = "U0STRANGE"
OPS = "C0AIOPS01"


def flag_file(**extra: Any) -> FileConfig:
    return FileConfig.model_validate(
        {
            "flags": [
                {"key": "assistant", "description": "The AI assistant in the help widget", "owner": "S0AIOPS"},
                {"key": "assistant.retries", "description": "Retries to the provider", "require_second_approver": True},
            ],
            "access": {"killswitch": [ONCALL, SECOND]},
            "channels": {"ops": OPS},
            **extra,
        }
    )


@pytest.fixture
def flag_services(settings: Settings) -> Iterator[Services]:
    s = build_services(settings.model_copy(update={"file": flag_file()}))
    yield s
    s.close()


@pytest.fixture
def flag_slack_services(slack_settings: Settings) -> Iterator[Services]:
    s = build_services(slack_settings.model_copy(update={"file": flag_file()}))
    yield s
    s.close()


def submit_view(url: str, view: dict[str, Any], *, user: str, reason: str) -> dict[str, Any]:
    """Send Slack's view_submission for an opened modal, with ``reason`` typed into it; returns the ack body."""
    submitted = {
        **view,
        "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
    }
    payload = {
        "type": "view_submission",
        "team": {"id": "T0FAKE0001"},
        "user": {"id": user, "username": "oncall"},
        "api_app_id": "A0FAKE0001",
        "trigger_id": "trigger.submit",
        "view": submitted,
    }
    r = send(url, interaction_body(payload))
    assert r.status_code == 200, r.text
    return orjson.loads(r.content) if r.content else {}


def opened_view(fake: FakeSlack, count: int) -> dict[str, Any]:
    calls = fake.wait_for("views.open", count=count, timeout=10)
    call = calls[count - 1]
    assert not call.failed, call.response
    return call.response["view"]
