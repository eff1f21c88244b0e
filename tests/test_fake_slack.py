from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.fake_slack import FakeSlack, fake_slack
from tests.slack_signing import signed_headers

Block = dict[str, Any]


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    yield from fake_slack()


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.token, base_url=slack.api_url, timeout=5)


def plain(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(**extra: Any) -> Block:
    return {"type": "button", "text": plain("Go"), "action_id": "go", **extra}


def actions(*elements: Block) -> Block:
    return {"type": "actions", "elements": list(elements)}


def text_input(label: str) -> Block:
    return {"type": "input", "label": plain(label), "element": {"type": "plain_text_input", "action_id": "in"}}


def modal(blocks: list[Block], title: str = "Ack", **extra: Any) -> Block:
    return {"type": "modal", "title": plain(title), "blocks": blocks, **extra}


def slack_error(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as info:
        call()
    return dict(info.value.response.data)


def test_signed_headers_pass_slack_sdk_verification() -> None:
    body = b"token=x&command=%2Fafter&text=cost"
    headers = signed_headers("s3cret", body, timestamp=1_700_000_000)
    verifier = SignatureVerifier("s3cret")
    ts, sig = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert ts == "1700000000"
    assert verifier.generate_signature(timestamp=ts, body=body) == sig
    assert SignatureVerifier("other").generate_signature(timestamp=ts, body=body) != sig
    fresh = signed_headers("s3cret", body)
    assert abs(int(fresh["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert verifier.is_valid_request(body, fresh)


def test_auth_needs_the_right_token_in_header_or_form(slack: FakeSlack, client: WebClient) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert slack_error(wrong.auth_test)["error"] == "invalid_auth"
    url = slack.api_url + "auth.test"
    assert httpx.post(url).json() == {"ok": False, "error": "not_authed"}
    assert httpx.post(url, data={"token": slack.token}).json()["ok"] is True
    assert httpx.post(url, json={"token": slack.token}).json()["error"] == "not_authed"
    assert client.auth_test()["user_id"] == "U0FAKEBOT1"
    assert [c.failed for c in slack.calls("auth.test")] == [True, True, False, True, False]
    unknown = httpx.post(slack.api_url + "chat.postMessagez", headers={"Authorization": "Bearer x"})
    assert unknown.json() == {"ok": False, "error": "unknown_method"}


def test_form_body_decodes_json_string_fields(slack: FakeSlack) -> None:
    blocks = [section("*hi*")]
    form = {"token": slack.token, "channel": "C1", "text": "hi", "blocks": json.dumps(blocks)}
    assert httpx.post(slack.api_url + "chat.postMessage", data=form).json()["ok"] is True
    assert slack.calls("chat.postMessage")[0].body["blocks"] == blocks
    assert slack.messages("C1")[0].blocks == blocks


MESSAGE_VIOLATIONS = [
    ("too_many_blocks", [section("x")] * 51, "/blocks"),
    ("section_text", [section("x" * 3001)], "/blocks/0/text/text"),
    ("empty_text", [section("")], "/blocks/0/text/text"),
    ("field_count", [{"type": "section", "fields": [plain("f")] * 11}], "/blocks/0/fields"),
    ("field_length", [{"type": "section", "fields": [mrkdwn("f" * 2001)]}], "/blocks/0/fields/0/text"),
    ("header_length", [{"type": "header", "text": plain("h" * 151)}], "/blocks/0/text/text"),
    ("header_mrkdwn", [{"type": "header", "text": mrkdwn("h")}], "/blocks/0/text/type"),
    ("button_text", [actions(button(text=plain("b" * 76)))], "/blocks/0/elements/0/text/text"),
    ("button_value", [actions(button(value="v" * 2001))], "/blocks/0/elements/0/value"),
    ("button_url", [actions(button(url="https://a.test/" + "u" * 2990))], "/blocks/0/elements/0/url"),
    ("action_id", [actions(button(action_id="a" * 256))], "/blocks/0/elements/0/action_id"),
    ("dup_action_id", [actions(button(), button())], "/blocks/0/elements/1/action_id"),
    ("block_id", [section("x", block_id="b" * 256)], "/blocks/0/block_id"),
    ("dup_block_id", [section("x", block_id="same"), section("y", block_id="same")], "/blocks/1/block_id"),
    ("context_elements", [{"type": "context", "elements": [mrkdwn("c")] * 11}], "/blocks/0/elements"),
    ("actions_elements", [actions(*[button(action_id=f"b{i}") for i in range(26)])], "/blocks/0/elements"),
    ("unknown_block", [{"type": "carousel"}], "/blocks/0/type"),
    ("input_label", [text_input("l" * 2001)], "/blocks/0/label/text"),
]


@pytest.mark.parametrize(
    ("blocks", "pointer"), [c[1:] for c in MESSAGE_VIOLATIONS], ids=[c[0] for c in MESSAGE_VIOLATIONS]
)
def test_message_block_limits(slack: FakeSlack, client: WebClient, blocks: list[Block], pointer: str) -> None:
    data = slack_error(lambda: client.chat_postMessage(channel="C1", text="t", blocks=blocks))
    assert data["error"] == "invalid_blocks"
    assert any(m.endswith(f"[json-pointer:{pointer}]") for m in data["response_metadata"]["messages"]), data
    assert slack.messages("C1") == []


def test_blocks_exactly_at_the_limits_are_accepted(slack: FakeSlack, client: WebClient) -> None:
    limit_button = button(text=plain("b" * 75), value="v" * 2000, url="https://a.test/" + "u" * 2985)
    blocks = [
        section("x" * 3000, block_id="b" * 255),
        {"type": "section", "fields": [mrkdwn("f" * 2000)] * 10},
        {"type": "header", "text": plain("h" * 150)},
        actions(dict(limit_button, action_id="a" * 255), *[button(action_id=f"b{i}") for i in range(24)]),
        {"type": "context", "elements": [mrkdwn("c")] * 10},
        text_input("l" * 2000),
    ]
    blocks += [{"type": "divider"}] * (50 - len(blocks))
    assert client.chat_postMessage(channel="C1", text="t" * 40_000, blocks=blocks)["ok"]
    assert len(slack.messages("C1")[0].blocks) == 50


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_message_text_and_required_fields(client: WebClient) -> None:
    assert slack_error(lambda: client.chat_postMessage(channel="C1", text="t" * 40_001))["error"] == "msg_too_long"
    assert slack_error(lambda: client.chat_postMessage(channel="C1", text=""))["error"] == "no_text"
    assert slack_error(lambda: client.chat_postMessage(channel="#nope", text="x"))["error"] == "channel_not_found"
    no_user = slack_error(lambda: client.chat_postEphemeral(channel="C1", user="", text="x"))
    assert no_user["error"] == "user_not_found"


VIEW_VIOLATIONS = [
    ("too_many_blocks", modal([section("x")] * 101), "/view/blocks"),
    ("title", modal([], title="t" * 25), "/view/title/text"),
    ("submit", modal([], submit=plain("s" * 25)), "/view/submit/text"),
    ("close", modal([], close=plain("c" * 25)), "/view/close/text"),
    ("input_without_submit", modal([text_input("Why")]), "/view/submit"),
    ("too_large", modal([section("x" * 2900, block_id=f"b{i}") for i in range(90)]), "/view"),
    ("not_a_modal", {"type": "home", "blocks": []}, "/view/type"),
]


@pytest.mark.parametrize(("view", "pointer"), [c[1:] for c in VIEW_VIOLATIONS], ids=[c[0] for c in VIEW_VIOLATIONS])
def test_modal_limits(client: WebClient, view: Block, pointer: str) -> None:
    data = slack_error(lambda: client.views_open(trigger_id="t1", view=view))
    assert data["error"] == "invalid_arguments"
    assert any(m.endswith(f"[json-pointer:{pointer}]") for m in data["response_metadata"]["messages"]), data


def test_views_open_update_publish(slack: FakeSlack, client: WebClient) -> None:
    at_limit = modal([section("x")] * 99 + [text_input("Why")], title="t" * 24, submit=plain("s" * 24))
    opened = client.views_open(trigger_id="t1", view=at_limit)["view"]
    assert slack_error(lambda: client.views_open(trigger_id="t1", view=modal([])))["error"] == ("exchanged_trigger_id")
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal([section("done")]))
    assert slack.view(opened["id"])["blocks"] == [section("done")]
    stale = slack_error(lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal([])))
    assert stale["error"] == "hash_conflict"
    assert updated["view"]["hash"] != opened["hash"]
    assert slack_error(lambda: client.views_update(view_id="V404", view=modal([])))["error"] == "not_found"
    home = {"type": "home", "blocks": [section("one")]}
    client.views_publish(user_id="U1", view=home)
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("two")]})
    assert slack.home("U1")["blocks"] == [section("two")]
    assert slack.home("U2") is None
    too_many = {"type": "home", "blocks": [section("x")] * 101}
    assert slack_error(lambda: client.views_publish(user_id="U1", view=too_many))["error"] == "invalid_arguments"


def test_trigger_ids_expire_after_three_seconds() -> None:
    clock = Clock()
    with FakeSlack(clock=clock) as slack:
        client = WebClient(token=slack.token, base_url=slack.api_url)
        fresh, stale = slack.new_trigger_id(), slack.new_trigger_id()
        assert client.views_open(trigger_id=fresh, view=modal([]))["ok"]
        clock.now += 3.5
        assert slack_error(lambda: client.views_open(trigger_id=stale, view=modal([])))["error"] == (
            "expired_trigger_id"
        )


def test_update_delete_and_react(slack: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="first", blocks=[section("card")])
    ts = posted["ts"]
    assert slack_error(lambda: client.chat_update(channel="C1", ts="1.000001", text="x"))["error"] == (
        "message_not_found"
    )
    client.chat_update(channel="C1", ts=ts, text="second")
    [message] = slack.messages("C1")
    assert (message.text, message.blocks, message.updates) == ("second", [section("card")], 1)
    client.reactions_add(channel="C1", timestamp=ts, name="eyes")
    assert slack_error(lambda: client.reactions_add(channel="C1", timestamp=ts, name="eyes"))["error"] == (
        "already_reacted"
    )
    later = client.chat_postMessage(channel="C1", text="later")["ts"]
    assert float(later) > float(ts)
    client.chat_delete(channel="C1", ts=ts)
    assert [m.ts for m in slack.messages("C1")] == [later]


def test_scripted_failures(slack: FakeSlack, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["retry-after"] in ("7", ["7"])
    slack.fail_next("chat.postMessage", status=503, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(channel="C1", text="x")
        assert info.value.response.status_code == 503
    slack.fail_next("chat.postMessage", error="channel_not_found")
    assert slack_error(lambda: client.chat_postMessage(channel="C1", text="x"))["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [(c.status, c.failed) for c in slack.calls("chat.postMessage")] == [
        (429, True),
        (503, True),
        (503, True),
        (200, True),
        (200, False),
    ]


def test_sdk_retry_handler_honours_retry_after(slack: FakeSlack) -> None:
    retrying = WebClient(token=slack.token, base_url=slack.api_url)
    retrying.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("auth.test", status=429, retry_after=0)
    assert retrying.auth_test()["ok"]
    assert [c.status for c in slack.calls("auth.test")] == [429, 200]


def test_per_channel_rate_limit() -> None:
    clock = Clock()
    with FakeSlack(clock=clock) as slack:
        client = WebClient(token=slack.token, base_url=slack.api_url)
        for _ in range(3):
            client.chat_postMessage(channel="C1", text="burst")
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(channel="C1", text="one too many")
        assert info.value.response.status_code == 429
        assert info.value.response.data == {"ok": False, "error": "ratelimited"}
        assert int(info.value.response.headers["retry-after"]) >= 1
        assert client.chat_postMessage(channel="C2", text="other channel")["ok"]
        clock.now += 1.0
        assert client.chat_postMessage(channel="C1", text="refilled")["ok"]
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C1", text="empty again")
        assert len(slack.messages("C1")) == 4
    with FakeSlack(clock=clock, rate_limit=False) as unlimited:
        client = WebClient(token=unlimited.token, base_url=unlimited.api_url)
        for _ in range(10):
            client.chat_postMessage(channel="C1", text="flood")
        assert len(unlimited.messages("C1")) == 10


def test_files_info_and_private_download(slack: FakeSlack, client: WebClient) -> None:
    slack.add_file("F1", b"\x89PNG-bytes", "shot 1.png", "image/png", "png")
    slack.add_file("F2", b"", "far.png", "image/png", "png", redirect_to="http://127.0.0.1:9/cdn/far.png")
    info = client.files_info(file="F1")["file"]
    assert info["size"] == 10 and info["url_private"].startswith(slack.base_url + "/files/F1/")
    auth = {"Authorization": f"Bearer {slack.token}"}
    for url in (info["url_private"], info["url_private_download"]):
        assert httpx.get(url, headers=auth).content == b"\x89PNG-bytes"
    for headers in ({}, {"Authorization": "Bearer xoxb-wrong"}):
        refused = httpx.get(info["url_private"], headers=headers)
        assert refused.status_code == 302 and refused.content == b""
        signin = httpx.get(info["url_private"], headers=headers, follow_redirects=True)
        assert signin.headers["content-type"].startswith("text/html")
    redirected = httpx.get(client.files_info(file="F2")["file"]["url_private"], headers=auth)
    assert redirected.status_code == 302
    assert redirected.headers["location"] == "http://127.0.0.1:9/cdn/far.png"
    assert slack_error(lambda: client.files_info(file="F404"))["error"] == "file_not_found"


def test_upload_flow_with_files_upload_v2(slack: FakeSlack, client: WebClient) -> None:
    done = client.files_upload_v2(content=b"a,b\n1,2\n", filename="cost.csv", channel="C1", initial_comment="csv")
    [upload] = slack.uploads()
    assert (upload.content, upload.completed, upload.channel_id) == (b"a,b\n1,2\n", True, "C1")
    assert done["file"]["id"] == upload.file_id
    assert client.files_info(file=upload.file_id)["file"]["name"] == "cost.csv"
    [shared] = slack.messages("C1")
    assert shared.text == "csv" and shared.files[0]["id"] == upload.file_id
    again = [{"id": upload.file_id, "title": "x"}]
    assert slack_error(lambda: client.files_completeUploadExternal(files=again))["error"] == "file_not_found"


def test_response_url_records_and_enforces(slack: FakeSlack) -> None:
    url = slack.new_response_url()
    assert httpx.post(url, json={"text": "done", "replace_original": True}).text == "ok"
    refused = httpx.post(url, json={"blocks": [section("x" * 3001)]})
    assert (refused.status_code, refused.text) == (400, "invalid_blocks")
    for _ in range(4):
        assert httpx.post(url, json={"text": "more"}).status_code == 200
    assert httpx.post(url, json={"text": "sixth"}).status_code == 404
    assert [r.status for r in slack.responses(url)] == [200, 400, 200, 200, 200, 200]
    assert slack.responses(url)[0].body == {"text": "done", "replace_original": True}
    assert httpx.post(slack.base_url + "/response/unknown", json={"text": "x"}).status_code == 404


def test_directory_methods(slack: FakeSlack, client: WebClient) -> None:
    slack.add_user("U1", "ada", is_admin=True, tz="Europe/Paris")
    slack.add_usergroup("S1", ["U1", "U2"])
    user = client.users_info(user="U1")["user"]
    assert (user["name"], user["is_admin"], user["tz"]) == ("ada", True, "Europe/Paris")
    assert user["tz_offset"] in (3600, 7200)
    assert slack_error(lambda: client.users_info(user="U404"))["error"] == "user_not_found"
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    assert slack_error(lambda: client.usergroups_users_list(usergroup="S404"))["error"] == "no_such_subteam"
    dm = client.conversations_open(users="U1")["channel"]["id"]
    assert dm.startswith("D") and client.conversations_open(users=["U1"])["channel"]["id"] == dm
    assert client.chat_postMessage(channel="U1", text="hi")["channel"] == dm


def test_wait_for_sees_calls_from_other_threads(slack: FakeSlack, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.1)
        client.chat_postMessage(channel="C1", text="from a thread")

    worker = threading.Thread(target=later)
    worker.start()
    [call] = slack.wait_for("chat.postMessage", timeout=5)
    worker.join()
    assert call.body["text"] == "from a thread" and call.headers["authorization"] == f"Bearer {slack.token}"
    with pytest.raises(AssertionError, match=r"expected 2 chat.postMessage call\(s\).*chat.postMessage\(200\)"):
        slack.wait_for("chat.postMessage", count=2, timeout=0.2)
    slack.clear()
    assert slack.calls() == []


def test_concurrent_posts_get_unique_ts_and_stop_closes_port() -> None:
    slack = FakeSlack(rate_limit=False).start()
    client = WebClient(token=slack.token, base_url=slack.api_url)
    stamps: list[str] = []

    def post(channel: str) -> None:
        for _ in range(10):
            stamps.append(client.chat_postMessage(channel=channel, text="x")["ts"])

    workers = [threading.Thread(target=post, args=(f"C{i}",)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(stamps)) == 40 and len(slack.calls("chat.postMessage")) == 40
    slack.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(slack.api_url + "auth.test", timeout=2)
