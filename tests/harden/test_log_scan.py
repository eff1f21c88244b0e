"""No prompt, response or user id reaches a log line, on any error path, on either database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.ingest import service
from bot.services import Services
from tests.conftest import make_key
from tests.ingest.factory import event

PROMPT = "PROMPTMARK please refund order 5521 for Jane Roe"
RESPONSE = "RESPONSEMARK Jane, your refund is on its way"
USER = "USERMARK-jane.roe@example.com"
TENANT = "tenantmark"
MARKS = ("PROMPTMARK", "RESPONSEMARK", "USERMARK", "Jane Roe", "jane.roe@example.com")
TOKEN = "log-scan-webhook-token-77"


def _event(**overrides: Any) -> dict[str, Any]:
    ts = (datetime.now(UTC) - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    base = {
        "timestamp": ts,
        "tenant": TENANT,
        "user_id": USER,
        "prompt": {"system": PROMPT, "messages": [{"role": "user", "content": PROMPT}]},
        "response": RESPONSE,
    }
    return event(**{**base, **overrides})


@pytest.fixture
def url(services: Services) -> Iterator[str]:
    services.settings = services.settings.model_copy(update={"webhook_token": SecretStr(TOKEN)})
    with BackgroundServer(create_app(services.settings, services=services, start_background=False)) as server:
        yield server.url


def test_error_paths_log_no_personal_data(
    url: str, services: Services, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key(services)
    auth = {"Authorization": f"Bearer {key}"}
    hook = {"Authorization": f"Bearer {TOKEN}"}
    real = service.to_rows
    poison: dict[str, Any] = {}

    def poisoned(ev: Any, raw: Any, cfg: Any, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        row, body = real(ev, raw, cfg, **kw)
        if ev.request_id.startswith("req_poison"):
            row.update(poison.get("row", {}))
            body.update(poison.get("body", {}))
        return row, body

    monkeypatch.setattr(service, "to_rows", poisoned)
    answers = []
    # A fresh connection per request: after a 500 the server closes the one it answered on.
    with (
        caplog.at_level(logging.DEBUG),
        httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client,
    ):

        def events(*evs: dict[str, Any]) -> None:
            answers.append(client.post("/v1/events", content=orjson.dumps({"events": list(evs)}), headers=auth))

        events(_event(), _event())  # the happy path
        events(_event(prompt={"system": PROMPT + "\x00"}))  # refused in validation
        events(_event(timestamp="0001-01-01T00:30:00+01:00"), _event(input_tokens=-1))
        poison["row"] = {"received_ms": None}  # the database refuses one row: split out
        events(_event(request_id="req_poison_1"), _event())
        poison.clear()
        # The driver cannot store the body row, whose parameters hold the prompt and the response:
        # a 500 whose logged traceback would carry them without hide_parameters.
        poison["body"] = {"context": object()}
        events(_event(request_id="req_poison_2"))
        poison.clear()
        answers.append(client.get(f"/v1/requests/{USER}", headers=auth))
        generic = {
            "alerts": [
                {
                    "id": "scan-1",
                    "status": "firing",
                    "title": PROMPT,
                    "severity": "high",
                    "starts_at": "2026-11-26T09:30:00Z",
                    "annotations": {"description": RESPONSE},
                    "labels": {"user": USER},
                }
            ]
        }
        answers.append(client.post("/webhooks/generic", content=orjson.dumps(generic), headers=hook))
        bad = orjson.loads(orjson.dumps(generic))
        bad["alerts"][0]["annotations"]["description"] = RESPONSE + "\x00"
        answers.append(client.post("/webhooks/generic", content=orjson.dumps(bad), headers=hook))
        bad["alerts"][0]["starts_at"] = USER
        answers.append(client.post("/webhooks/generic", content=orjson.dumps(bad), headers=hook))
    statuses = [a.status_code for a in answers]
    assert statuses[0] == 200 and 422 in statuses and 500 in statuses  # every kind of path was driven
    assert any(r.levelno >= logging.ERROR and r.exc_info for r in caplog.records)  # a traceback was logged
    # Left out: the test's own HTTP client, and uvicorn's access log, which ``serve`` turns off
    # (access_log=False) but pytest's capture handler still sees.
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore", "uvicorn.access"))]
    logged = "\n".join(
        r.getMessage() + (r.exc_text or "") + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in ours
    )
    found = [m for m in MARKS if m in logged]
    assert found == [], f"personal data in the logs: {found}"
