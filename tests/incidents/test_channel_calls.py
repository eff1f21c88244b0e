"""Incident channels through the outbox and the stand-in: Slack's name rules, name_taken retries, access."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.config import FileConfig
from bot.errors import UserError
from bot.incidents.service import declare, parse_declare
from bot.incidents.slack_out import channel_name
from bot.services import Services
from bot.slack.client import web_client
from bot.slack.sender import OutboxSender, SlackDeliverer
from storage.models import OutboxMessage
from tests.fake_slack import FakeSlack
from tests.incidents.conftest import wait
from tests.slack_requests import send, slash_body

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _drain(services: Services) -> None:
    """Send until nothing is pending (threads wait for their channel, posts are paced)."""
    sender = OutboxSender(services, SlackDeliverer(web_client(services.settings, retries=False)))

    def done() -> bool:
        sender.run_once()
        with services.db.session() as session:
            return not session.exec(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).first()

    wait(done, "the outbox to drain", timeout=30)


def test_channel_names_follow_slacks_rules() -> None:
    name = channel_name("inc", "Ünïcode & CAPS: the *assistant* leaks — tenant data!!" * 3, NOW)
    assert name.startswith("inc-20261126-unicode-caps-the-assistant-leaks-tenant-data")
    assert len(name) <= 77 and all((c.isalnum() and c.islower()) or c.isdigit() or c == "-" for c in name)
    assert channel_name("inc", "!!!", NOW) == "inc-20261126-incident"


def test_taken_names_on_todays_date(slack_services: Services, fake_slack: FakeSlack) -> None:
    prefix = f"inc-{datetime.now(UTC):%Y%m%d}-provider-outage"
    fake_slack.add_channel("C0TAKEN001", prefix)
    fake_slack.add_channel("C0TAKEN002", f"{prefix}-2")
    declare(slack_services, title="Provider outage", severity="sev1", user="U0ALICE01", now=datetime.now(UTC))
    _drain(slack_services)
    assert [c.response.get("error") for c in fake_slack.calls("conversations.create")] == [
        "name_taken",
        "name_taken",
        None,
    ]
    made = fake_slack.channel(f"{prefix}-3")
    assert made is not None and len(made.pins) == 1 and made.topic.startswith("SEV1 | OPEN")
    assert made.members == ["U0FAKEBOT1", "U0ALICE01"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "usage: /incident declare"), ("sev1", "usage: /incident declare"), ("x" * 151, "under 150")],
)
def test_declare_refuses_bad_input(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_declare(text, "sev2")


def test_parse_declare_takes_the_severity_last() -> None:
    assert parse_declare("Leak in answers sev1", "sev2") == ("Leak in answers", "sev1")
    assert parse_declare("Leak in answers", "sev3") == ("Leak in answers", "sev3")


def test_people_without_access_are_refused_with_the_access_needed(
    service: str, slack_services: Services, fake_slack: FakeSlack
) -> None:
    slack_services.settings.file = FileConfig.model_validate({"access": {"responders": ["U0ALICE01"]}})
    response_url = fake_slack.new_response_url()
    body = slash_body("/incident", "declare Leak sev1", user="U0MALLORY", response_url=response_url)
    assert send(service, body).status_code == 200
    wait(lambda: fake_slack.responses(response_url), "the refusal")
    answer = str(fake_slack.responses(response_url)[0].body)
    assert "you need the 'responders' access" in answer and "ephemeral" in answer
    assert not fake_slack.calls("conversations.create")
