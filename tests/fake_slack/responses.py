from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

from tests.fake_slack.blocks import MESSAGE_MAX_BLOCKS, check_blocks
from tests.fake_slack.messages import MAX_TEXT
from tests.fake_slack.records import Response
from tests.fake_slack.state import State
from tests.fake_slack.wire import Reply

MAX_USES = 5
LIFETIME = 30 * 60


def new_response_url(state: State) -> str:
    """Hand out a response_url, good for five posts within thirty minutes like Slack's."""
    key = secrets.token_urlsafe(12)
    state.response_urls[key] = 0
    state.response_url_issued[key] = state.clock()
    return f"{state.base_url}/response/{key}"


def _payload(content_type: str, raw: bytes) -> dict[str, Any] | None:
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            raw = dict(parse_qsl(raw.decode())).get("payload", "").encode()
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _problem(body: dict[str, Any]) -> str | None:
    """What Slack's webhook endpoint would refuse in this body, as its plain-text error code."""
    if body.get("delete_original"):
        return None
    text, blocks = body.get("text"), body.get("blocks")
    if not text and not blocks and not body.get("attachments"):
        return "no_text"
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return "msg_too_long"
    if blocks is not None and check_blocks(blocks, "/blocks", MESSAGE_MAX_BLOCKS):
        return "invalid_blocks"
    return None


def receive_response(state: State, key: str, content_type: str, raw: bytes) -> Reply:
    """Take a post to a response_url, record it, and answer the way Slack's webhook endpoint does."""
    uses = state.response_urls.get(key)
    if uses is None:
        return Reply.text(404, "no_service")
    if state.clock() - state.response_url_issued[key] > LIFETIME:
        return Reply.text(404, "expired_url")
    if uses >= MAX_USES:
        return Reply.text(404, "used_url")
    body = _payload(content_type, raw)
    url = f"{state.base_url}/response/{key}"
    if body is None:
        state.responses.append(Response(url=url, body={}, at=state.clock(), status=400))
        state.changed.notify_all()
        return Reply.text(400, "invalid_payload")
    problem = _problem(body)
    status = 400 if problem else 200
    state.responses.append(Response(url=url, body=body, at=state.clock(), status=status))
    state.changed.notify_all()
    if problem:
        return Reply.text(400, problem)
    state.response_urls[key] = uses + 1
    return Reply.text(200, "ok")
