"""/triage through signed Slack requests to the running service; Slack's Web API is the local stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from bot.app import create_app
from bot.config import ChannelsConfig, FileConfig, Settings
from bot.demo.server import BackgroundServer
from bot.services import Services, build_services
from bot.slack.commands import all_commands
from bot.slack.manifest import build_manifest
from bot.triage import cards
from tests.fake_slack import FakeSlack
from tests.slack_requests import block_action, interaction_body, send, send_event, slash_body
from tests.triage.corpus import build
from tests.triage.render import render_chat, to_png

RESPONDER, OUTSIDER = "U0RESP001", "U0OTHER01"
OPS, ACME_ROOM, TRIAGE_ROOM = "C0AIOPS01", "C0ACME001", "C0TRIAGE1"


@pytest.fixture
def triage_services(slack_settings: Settings) -> Iterator[Services]:
    file = FileConfig(
        access={"responders": [RESPONDER]},
        channels=ChannelsConfig(triage=TRIAGE_ROOM, tenant_channels={ACME_ROOM: "acme"}),
    )
    s = build_services(slack_settings.model_copy(update={"file": file}))
    yield s
    s.close()


@pytest.fixture
def service(triage_services: Services) -> Iterator[str]:
    with BackgroundServer(create_app(triage_services.settings, services=triage_services)) as server:
        yield server.url


@pytest.fixture
def llamas(triage_services: Services) -> list[dict]:
    return build(triage_services)


def wait(check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting for Slack traffic")


def _texts(fake: FakeSlack, channel: str) -> str:
    return " ".join(str(m.blocks) + m.text for m in fake.messages(channel))


def _ephemerals(fake: FakeSlack) -> str:
    return " ".join(str(m.blocks) + m.text for m in fake.ephemerals())


def _shot(fake: FakeSlack, file_id: str, event: dict) -> None:
    image = render_chat(event["prompt"]["messages"][-1]["content"], event["response"], style="dark")
    fake.add_file(file_id, to_png(image), f"{file_id}.png", "image/png", "png")


def test_manifest_declares_the_shortcut_the_event_and_the_scopes() -> None:
    manifest = build_manifest(all_commands(), url="https://example.com")
    assert {"callback_id": "triage_message", "type": "message"}.items() <= manifest["features"]["shortcuts"][0].items()
    assert "/triage" in [c["command"] for c in manifest["features"]["slash_commands"]]
    assert {"files:read", "app_mentions:read"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert "app_mention" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_slash_command_with_text_answers_in_channel(service: str, fake_slack: FakeSlack, llamas: list[dict]) -> None:
    url = fake_slack.new_response_url()
    target = llamas[4]
    body = slash_body("/triage", f'"{target["response"]}"', channel=OPS, response_url=url)
    assert send(service, body).status_code == 200
    [answer] = wait(lambda: fake_slack.responses(url))
    assert answer.body["response_type"] == "in_channel"
    assert target["request_id"] in str(answer.body["blocks"])


def test_uploaded_screenshot_is_read_after_the_ack_and_posted(
    service: str, fake_slack: FakeSlack, llamas: list[dict]
) -> None:
    target = llamas[6]
    _shot(fake_slack, "F0SHOT001", target)
    view = {
        "type": "modal",
        "id": "V0TRIAGE1",
        "hash": "h1",
        "callback_id": cards.UPLOAD_CALLBACK,
        "private_metadata": orjson.dumps({"channel": OPS}).decode(),
        "state": {
            "values": {cards.FILE_BLOCK: {cards.FILE_ACTION: {"type": "file_input", "files": [{"id": "F0SHOT001"}]}}}
        },
    }
    payload = {"type": "view_submission", "team": {"id": "T0FAKE0001"}, "user": {"id": OUTSIDER}, "view": view}
    started = time.monotonic()
    r = send(service, interaction_body(payload))
    assert r.status_code == 200 and time.monotonic() - started < 2.5, "the ack must not wait for OCR"
    wait(lambda: target["request_id"] in _texts(fake_slack, OPS))
    assert "Galactic" not in _texts(fake_slack, OPS)


def test_empty_dialog_is_refused_inline(service: str, llamas: list[dict]) -> None:
    view = {
        "type": "modal",
        "id": "V0TRIAGE2",
        "hash": "h2",
        "callback_id": cards.UPLOAD_CALLBACK,
        "state": {"values": {}},
    }
    payload = {"type": "view_submission", "team": {"id": "T0FAKE0001"}, "user": {"id": OUTSIDER}, "view": view}
    r = send(service, interaction_body(payload))
    assert r.json()["response_action"] == "errors"


def test_shortcut_in_a_tenant_channel_never_shows_another_tenant(
    service: str, fake_slack: FakeSlack, llamas: list[dict]
) -> None:
    globex = next(e for e in llamas if e["tenant"] == "globex")
    _shot(fake_slack, "F0SHOT002", globex)
    payload = {
        "type": "message_action",
        "callback_id": "triage_message",
        "team": {"id": "T0FAKE0001"},
        "user": {"id": OUTSIDER},
        "channel": {"id": ACME_ROOM},
        "message": {"ts": "1.2", "files": [{"id": "F0SHOT002", "filetype": "png", "mimetype": "image/png"}]},
        "trigger_id": "trigger.shortcut",
    }
    assert send(service, interaction_body(payload)).status_code == 200
    wait(lambda: fake_slack.ephemerals() or fake_slack.messages(ACME_ROOM))
    seen = _texts(fake_slack, ACME_ROOM) + _ephemerals(fake_slack)
    assert globex["request_id"] not in seen
    assert "'globex'" not in seen and "globex)" not in seen


def test_mention_with_an_image_in_the_triage_channel(service: str, fake_slack: FakeSlack, llamas: list[dict]) -> None:
    target = llamas[9]
    _shot(fake_slack, "F0SHOT003", target)
    event = {
        "type": "app_mention",
        "user": OUTSIDER,
        "channel": TRIAGE_ROOM,
        "text": "<@U0FAKEBOT1> what is this?",
        "ts": "1795000000.000200",
        "files": [{"id": "F0SHOT003", "filetype": "png", "mimetype": "image/png"}],
    }
    assert send_event(service, event, event_id="Ev0TRIAGE1").status_code == 200
    wait(lambda: target["request_id"] in _texts(fake_slack, TRIAGE_ROOM))


def _row_id(services: Services, request_id: str) -> int:
    from storage.requests import get_request

    with services.db.session() as session:
        [(request, _)] = get_request(session=session, request_id=request_id, tenants=None)
    return int(request.id or 0)


def test_full_prompt_only_for_responders_and_the_bundle_goes_to_their_dm(
    service: str, fake_slack: FakeSlack, triage_services: Services, llamas: list[dict]
) -> None:
    target = llamas[1]
    value = cards.ref(_row_id(triage_services, target["request_id"]))
    send(service, interaction_body(block_action(cards.FULL_ACTION, value, user=OUTSIDER, channel=OPS)))
    wait(lambda: "responders" in _ephemerals(fake_slack))
    assert "Galactic" not in _ephemerals(fake_slack)
    send(
        service, interaction_body(block_action(cards.FULL_ACTION, value, user=RESPONDER, channel=OPS, message_ts="2.1"))
    )
    wait(lambda: "Galactic Refund Policy" in _ephemerals(fake_slack))
    send(
        service,
        interaction_body(block_action(cards.EXPORT_ACTION, value, user=RESPONDER, channel=OPS, message_ts="2.2")),
    )
    [upload] = wait(lambda: [u for u in fake_slack.uploads() if u.completed])
    bundle = orjson.loads(upload.content or b"{}")
    assert bundle["request"]["request_id"] == target["request_id"]
    assert bundle["replay"]["messages"][0]["role"] == "system" and bundle["response"] == target["response"]
    assert upload.channel_id and upload.channel_id.startswith("D")


def test_buttons_recheck_the_channel_tenant(
    service: str, fake_slack: FakeSlack, triage_services: Services, llamas: list[dict]
) -> None:
    globex = next(e for e in llamas if e["tenant"] == "globex")
    value = cards.ref(_row_id(triage_services, globex["request_id"]))
    send(service, interaction_body(block_action(cards.FULL_ACTION, value, user=RESPONDER, channel=ACME_ROOM)))
    wait(lambda: "not visible from this channel" in _ephemerals(fake_slack))
    assert "Galactic" not in _ephemerals(fake_slack)
