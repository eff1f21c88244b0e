"""The real OpenFeature SDK with its OFREP provider against the running service, toggled from signed Slack requests.

openfeature-provider-ofrep (0.3.x) is a server-side provider without a cache or
polling: every ``get_boolean_value`` is one POST /ofrep/v1/evaluate/flags/{key},
so the "next evaluation" after a confirmed toggle reaches the service.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services
from tests.conftest import make_key
from tests.fake_slack import FakeSlack
from tests.flags.conftest import ONCALL, STRANGER, opened_view, submit_view
from tests.slack_requests import send, slash_body


@pytest.fixture
def service(flag_slack_services: Services) -> Iterator[str]:
    app = create_app(flag_slack_services.settings, services=flag_slack_services)
    with BackgroundServer(app) as server:
        yield server.url


@pytest.fixture
def client(service: str, flag_slack_services: Services) -> Iterator[OpenFeatureClient]:
    raw = make_key(flag_slack_services, scopes={"flags"})
    api.set_provider(OFREPProvider(service, headers_factory=lambda: {"Authorization": f"Bearer {raw}"}), "afterlaunch")
    yield api.get_client("afterlaunch")
    api.clear_providers()


def slash(url: str, fake: FakeSlack, text: str, *, user: str = ONCALL) -> str:
    response_url = fake.new_response_url()
    assert send(url, slash_body("/killswitch", text, user=user, response_url=response_url)).status_code == 200
    return response_url


def wait_response(fake: FakeSlack, url: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = fake.responses(url)
        if got:
            return got[0].body["text"]
        time.sleep(0.05)
    raise AssertionError("no reply to the slash command")


def value(client: OpenFeatureClient, tenant: str) -> bool:
    return client.get_boolean_value(
        "assistant", True, EvaluationContext(targeting_key=f"user-{tenant}", attributes={"tenant": tenant})
    )


def test_kill_from_slack_is_seen_by_the_sdk_and_restore_brings_it_back(
    service: str, fake_slack: FakeSlack, client: OpenFeatureClient
) -> None:
    assert value(client, "acme") is True and value(client, "globex") is True

    slash(service, fake_slack, "kill assistant tenant=acme")
    view = opened_view(fake_slack, 1)
    assert "Blast radius" in str(view["blocks"])
    assert submit_view(service, view, user=ONCALL, reason="acme's agent loops") == {}
    assert value(client, "acme") is False
    assert value(client, "globex") is True

    slash(service, fake_slack, "restore assistant tenant=acme")
    assert submit_view(service, opened_view(fake_slack, 2), user=ONCALL, reason="loop fixed") == {}
    assert value(client, "acme") is True

    slash(service, fake_slack, "kill assistant")
    assert submit_view(service, opened_view(fake_slack, 3), user=ONCALL, reason="leak suspected") == {}
    assert value(client, "acme") is False and value(client, "globex") is False

    history = wait_response(fake_slack, slash(service, fake_slack, "history assistant"))
    assert "History of assistant" in history


def test_modal_refuses_a_blank_reason_and_a_user_without_access(
    service: str, fake_slack: FakeSlack, client: OpenFeatureClient
) -> None:
    slash(service, fake_slack, "kill assistant tenant=acme")
    view = opened_view(fake_slack, 1)
    answer = submit_view(service, view, user=ONCALL, reason="   ")
    assert answer["response_action"] == "errors" and "reason" in answer["errors"]["reason"]
    # A new dialog: Slack resubmits an errored view with the same id and hash, which act-once drops.
    slash(service, fake_slack, "kill assistant tenant=acme")
    answer = submit_view(service, opened_view(fake_slack, 2), user=STRANGER, reason="I want to")
    assert answer["response_action"] == "errors" and "killswitch" in answer["errors"]["reason"]
    assert value(client, "acme") is True
    refused = wait_response(fake_slack, slash(service, fake_slack, "kill assistant", user=STRANGER))
    assert "killswitch" in refused
