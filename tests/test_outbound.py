"""Outbound provider calls retry on 429/5xx and connection failures, waiting what Retry-After asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pydantic import SecretStr

from bot.cost.providers import ProviderError, fetch_openai
from bot.outbound import MAX_RETRY_AFTER, retry_after, send_with_retries


def _client(answers: list[httpx.Response | Exception]) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(base_url="https://provider.test", transport=httpx.MockTransport(handler)), seen


def test_a_429_waits_what_retry_after_asks_then_succeeds() -> None:
    client, seen = _client([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={"ok": 1})])
    waits: list[float] = []
    response = send_with_retries(lambda: client.get("/costs"), sleep=waits.append)
    assert response.status_code == 200 and len(seen) == 2 and waits == [2.0]


def test_5xx_backs_off_with_growing_jittered_waits_and_gives_the_last_answer() -> None:
    client, seen = _client([httpx.Response(503), httpx.Response(502), httpx.Response(503)])
    waits: list[float] = []
    response = send_with_retries(lambda: client.get("/costs"), sleep=waits.append, initial=0.5)
    assert response.status_code == 503 and len(seen) == 3 and len(waits) == 2
    assert 0.5 <= waits[0] <= 1.5 and 1.0 <= waits[1] <= 2.0


def test_client_errors_are_not_retried_and_connection_failures_are_raised_at_the_end() -> None:
    client, seen = _client([httpx.Response(401)])
    assert send_with_retries(lambda: client.get("/costs"), sleep=lambda s: None).status_code == 401 and len(seen) == 1
    refused = httpx.ConnectError("refused")
    client, seen = _client([refused, refused, refused])
    with pytest.raises(httpx.ConnectError):
        send_with_retries(lambda: client.get("/costs"), sleep=lambda s: None)
    assert len(seen) == 3


def test_retry_after_reads_seconds_and_http_dates_and_caps_long_asks() -> None:
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    at = httpx.Response(503, headers={"Retry-After": format_datetime(now + timedelta(seconds=30), usegmt=True)})
    assert retry_after(at, now=now) == 30.0
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    client, _ = _client([httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200, json={})])
    waits: list[float] = []
    send_with_retries(lambda: client.get("/x"), sleep=waits.append)
    assert waits == [MAX_RETRY_AFTER]


def test_the_openai_importer_rides_out_a_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.outbound.time.sleep", lambda s: None)
    pages = [
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(200, json={"data": [{"start_time": 1763596800, "results": [
            {"line_item": "gpt-4o-mini, input", "amount": {"value": 1.25, "currency": "usd"}}
        ]}], "has_more": False}),
    ]  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer sk-admin-test"
        return pages.pop(0)

    start = datetime(2026, 11, 19, tzinfo=UTC)
    rows = fetch_openai(
        base_url="https://provider.test", admin_key=SecretStr("sk-admin-test"), start=start,
        end=start + timedelta(days=1), transport=httpx.MockTransport(handler),
    )  # fmt: skip
    assert rows == [{"provider": "openai", "day": "2025-11-20", "model": "gpt-4o-mini", "usd": 1.25, "source": "api"}]
    pages[:] = [httpx.Response(500)] * 3
    with pytest.raises(ProviderError, match="openai: the cost API answered 500"):
        fetch_openai(
            base_url="https://provider.test", admin_key=SecretStr("sk-admin-test"), start=start,
            end=start + timedelta(days=1), transport=httpx.MockTransport(lambda r: pages.pop(0)),
        )  # fmt: skip
