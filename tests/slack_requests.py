"""Build and send what Slack sends us: signed slash commands, interactions and events, over real HTTP."""

from __future__ import annotations

import itertools
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from tests.slack_signing import signed_headers

SIGNING_SECRET = "test-signing-secret-8f14e45fceea167a"
_trigger = itertools.count(1)


def slash_body(
    command: str, text: str, *, user: str = "U0ONCALL1", channel: str = "C0AIOPS01", response_url: str
) -> bytes:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T0FAKE0001",
            "channel_id": channel,
            "user_id": user,
            "user_name": "oncall",
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": f"trigger.{next(_trigger)}",
        }
    ).encode()


def interaction_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": orjson.dumps(payload).decode()}).encode()


def send(
    url: str,
    body: bytes,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a Slack-signed body to the service's /slack/events."""
    headers = {**signed_headers(secret, body, timestamp), "Content-Type": content_type, **(extra_headers or {})}
    return httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=10)


def send_event(url: str, event: dict[str, Any], *, event_id: str, retry_num: int | None = None) -> httpx.Response:
    body = orjson.dumps(
        {
            "type": "event_callback",
            "team_id": "T0FAKE0001",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
    )
    extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
    return send(url, body, content_type="application/json", extra_headers=extra)


def block_action(
    action_id: str,
    value: str,
    *,
    user: str = "U0ONCALL1",
    channel: str = "C0AIOPS01",
    message_ts: str = "1700000000.000100",
    response_url: str | None = None,
    trigger_id: str = "trigger.click",
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": "T0FAKE0001"},
        "user": {"id": user, "username": "oncall"},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "message": {"ts": message_ts, "text": "card"},
        "trigger_id": trigger_id,
        "response_url": response_url,
        "actions": [
            {"action_id": action_id, "block_id": "b1", "value": value, "type": "button", "action_ts": str(time.time())}
        ],
    }
