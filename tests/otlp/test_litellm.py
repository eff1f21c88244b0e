"""LiteLLM's own generic API logger posting to afterlaunch, and the answers to bad log entries."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from bot.services import Services
from storage.models import LLMRequest
from tests.conftest import make_key

QUESTION = "Why was I charged twice?"


async def _through_litellm(endpoint: str, key: str, log_format: str) -> list[str]:
    import litellm
    from litellm.integrations.generic_api.generic_api_callback import GenericAPILogger

    logger = GenericAPILogger(endpoint=endpoint, headers={"Authorization": f"Bearer {key}"}, log_format=log_format)
    before = litellm.callbacks
    litellm.callbacks = [logger]
    ids = []
    try:
        for n, team in enumerate(("acme", "globex")):
            response = await litellm.acompletion(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}],
                mock_response=f"Answer {n}",
                metadata={
                    "user_api_key_team_alias": team,
                    "user_api_key_hash": f"hash-{team}",
                    "requester_metadata": {"intent": "billing", "prompt_version": "support-v15"},
                },
            )
            ids.append(response.id)
        deadline = time.monotonic() + 10
        while len(logger.log_queue) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # LiteLLM logs from a background task
        await logger.flush_queue()
    finally:
        litellm.callbacks = before
    return ids


@pytest.mark.parametrize("log_format", ["json_array", "ndjson"])
def test_litellm_generic_logger_posts_calls_that_are_stored(api: str, services: Services, log_format: str) -> None:
    key = make_key(services)
    asyncio.run(_through_litellm(f"{api}/v1/integrations/litellm", key, log_format))
    auth = {"Authorization": f"Bearer {key}"}
    rows = []
    for tenant in ("acme", "globex"):
        with services.db.session() as s:
            found = s.execute(select(LLMRequest).where(LLMRequest.tenant == tenant)).scalars().all()
        assert len(found) == 1, tenant
        rows.append(found[0])
    doc = httpx.get(f"{api}/v1/requests/{rows[0].request_id}", headers=auth).json()
    assert doc["prompt"] == {"system": "Be brief.", "messages": [{"role": "user", "content": QUESTION}]}
    assert doc["response"] == "Answer 0"
    assert (doc["intent"], doc["prompt_version"], doc["model"]) == ("billing", "support-v15", "gpt-4o-mini")
    assert doc["cost_source"] == "client" and doc["cost_usd"] > 0
    assert doc["api_key_id"] == "hash-acme"
    assert doc["labels"]["source"] == "litellm" and doc["labels"]["team_alias"] == "acme"


def entry(**overrides: Any) -> dict[str, Any]:
    """One entry in the shape of LiteLLM's StandardLoggingPayload (fields as its types declare them)."""
    now = time.time() - 60
    e: dict[str, Any] = {
        "id": "litellm-call-1",
        "trace_id": "trace-1",
        "call_type": "acompletion",
        "stream": False,
        "response_cost": 0.00042,
        "status": "success",
        "custom_llm_provider": "openai",
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
        "startTime": now,
        "endTime": now + 1.25,
        "completionStartTime": now + 1.25,
        "model": "gpt-4o-mini",
        "model_group": "assistant-default",
        "metadata": {
            "user_api_key_team_alias": "acme",
            "user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
        },
        "cache_hit": False,
        "messages": [{"role": "user", "content": QUESTION}],
        "response": {
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"finish_reason": "stop", "message": {"content": "Prorated upgrade."}}],
        },
        "error_str": None,
        "error_information": None,
    }
    e.update(overrides)
    return e


def post(api: str, key: str, content: bytes) -> httpx.Response:
    return httpx.post(f"{api}/v1/integrations/litellm", content=content, headers={"Authorization": f"Bearer {key}"})


def test_failures_bad_entries_and_other_tenants_are_rejected_one_by_one(api: str, services: Services) -> None:
    key = make_key(services, tenant="acme")
    failed = entry(
        id="litellm-call-2",
        status="failure",
        response=None,
        error_str="Request timed out",
        error_information={"error_class": "Timeout", "error_message": "Request timed out"},
    )
    entries = [
        entry(),
        failed,
        entry(id="litellm-call-3", metadata={"user_api_key_team_alias": "globex"}),
        entry(id="litellm-call-4", startTime="yesterday"),
        entry(id="litellm-call-5", prompt_tokens=10**12),
        "not an object",
    ]
    r = post(api, key, b"\n".join(orjson.dumps(e) for e in entries))  # NDJSON
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["accepted"], result["rejected"]) == (2, 4)
    fields = {e["index"]: e["field"] for e in result["errors"]}
    assert fields == {2: "entries[2].tenant", 3: "entries[3].startTime", 4: "entries[4].input_tokens", 5: "entries[5]"}
    doc = httpx.get(f"{api}/v1/requests/litellm-call-2", headers={"Authorization": f"Bearer {key}"}).json()
    assert doc["status"] == "timeout" and doc["labels"]["error"] == "Request timed out"
    ok = httpx.get(f"{api}/v1/requests/litellm-call-1", headers={"Authorization": f"Bearer {key}"}).json()
    assert (ok["model"], ok["model_requested"], ok["latency_ms"]) == (
        "gpt-4o-mini-2024-07-18",
        "assistant-default",
        1250.0,
    )
    again = post(api, key, orjson.dumps([entry()])).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_unreadable_and_unkeyed_bodies_are_refused(api: str, services: Services) -> None:
    key = make_key(services)
    assert post(api, key, b"[{").status_code == 422
    assert httpx.post(f"{api}/v1/integrations/litellm", content=b"[]").status_code == 401
    no_team = post(api, key, orjson.dumps([entry(metadata={})]))
    assert no_team.status_code == 422 and "no tenant" in no_team.json()["errors"][0]["message"]
