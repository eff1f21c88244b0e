"""Acceptance: real instrumentations of the OpenAI client export to afterlaunch over OTLP protobuf.

The OpenAI client calls a stand-in provider on loopback; the instrumentation's spans and a
hand-written retrieval span of the same trace go through the SDK's OTLP/HTTP exporter. The
stored request must equal what the same call sent to ``POST /v1/events`` would store.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from bot.services import Services
from tests.conftest import make_key
from tests.otlp.conftest import ANSWER, StandIn
from tests.otlp.sdk import expected_context, provider_to, retriever_attributes

SYSTEM = "You answer billing questions for Acme."
QUESTION = "Why was I charged twice this month?"
TRIPLE = ("prompt", "context", "response", "prompt_version", "model", "input_tokens", "output_tokens", "tenant")


def get_request(api: str, key: str, request_id: str, tenant: str) -> dict[str, Any]:
    r = httpx.get(
        f"{api}/v1/requests/{request_id}", params={"tenant": tenant}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    return r.json()


def store_directly(api: str, key: str, doc: dict[str, Any], tenant: str) -> dict[str, Any]:
    """What the feature would have sent to the event API for the same call, stored under another tenant."""
    event = {
        "request_id": doc["request_id"],
        "timestamp": doc["timestamp"],
        "tenant": tenant,
        "prompt_version": doc["prompt_version"],
        "model": "gpt-4o-mini-2024-07-18",
        "intent": doc["intent"],
        "input_tokens": 812,
        "output_tokens": 164,
        "prompt": {"system": SYSTEM, "messages": [{"role": "user", "content": QUESTION}]},
        "context": expected_context(),
        "response": ANSWER,
    }
    r = httpx.post(f"{api}/v1/events", json={"events": [event]}, headers={"Authorization": f"Bearer {key}"})
    assert r.json()["accepted"] == 1, r.text
    return get_request(api, key, doc["request_id"], tenant)


def ask(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="sk-test-not-a-real-key", max_retries=0)
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
    )


def assert_same_triple(stored: dict[str, Any], direct: dict[str, Any]) -> None:
    for name in TRIPLE:
        if name != "tenant":
            assert stored[name] == direct[name], name


def test_opentelemetry_openai_v2_spans_become_the_same_request(
    api: str, services: Services, standin: tuple[str, StandIn], monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")
    key = make_key(services)
    resource = {
        "afterlaunch.tenant": "acme",
        "afterlaunch.prompt_version": "support-v13",
        "afterlaunch.intent": "billing",
    }
    provider, memory = provider_to(f"{api}/v1/traces", key, resource)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        tracer = provider.get_tracer("assistant")
        with tracer.start_as_current_span("answer"):
            with tracer.start_as_current_span("kb.search", attributes=retriever_attributes()):
                pass
            ask(standin[0])
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    llm = next(s for s in memory.get_finished_spans() if (s.attributes or {}).get("gen_ai.operation.name") == "chat")
    assert llm.attributes["gen_ai.response.id"] == "chatcmpl-standin0001"

    stored = get_request(api, key, "chatcmpl-standin0001", "acme")
    assert stored["context"] == expected_context()
    assert stored["prompt"] == {"system": SYSTEM, "messages": [{"role": "user", "content": QUESTION}]}
    assert stored["response"] == ANSWER
    assert (stored["prompt_version"], stored["intent"]) == ("support-v13", "billing")
    assert stored["trace_id"] == f"{llm.context.trace_id:032x}"
    assert stored["provider"] == "openai" and stored["finish_reason"] == "stop"
    assert stored["model_requested"] == "gpt-4o-mini"
    assert stored["latency_ms"] == pytest.approx((llm.end_time - llm.start_time) / 1e6)
    assert_same_triple(stored, store_directly(api, key, stored, "acme-direct"))


def test_openinference_openai_spans_become_the_same_request(
    api: str, services: Services, standin: tuple[str, StandIn]
) -> None:
    from openinference.instrumentation import using_attributes
    from openinference.instrumentation.openai import OpenAIInstrumentor

    key = make_key(services)
    provider, memory = provider_to(f"{api}/v1/traces", key, {"tenant.id": "acme"}, gzip=True)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        tracer = provider.get_tracer("assistant")
        with (
            using_attributes(session_id="sess-7", user_id="user-3", prompt_template_version="support-v14"),
            tracer.start_as_current_span("answer"),
        ):
            with tracer.start_as_current_span("kb.search", attributes=retriever_attributes()):
                pass
            ask(standin[0])
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    llm = next(s for s in memory.get_finished_spans() if (s.attributes or {}).get("openinference.span.kind") == "LLM")
    request_id = f"{llm.context.trace_id:032x}-{llm.context.span_id:016x}"

    stored = get_request(api, key, request_id, "acme")
    assert stored["context"] == expected_context()
    assert stored["prompt"] == {"system": SYSTEM, "messages": [{"role": "user", "content": QUESTION}]}
    assert stored["response"] == ANSWER
    assert stored["prompt_version"] == "support-v14"
    assert stored["intent"] == "unknown"  # nothing in the span says it: stored, counted, never rejected
    assert stored["session_id"] == "sess-7" and stored["user_hash"]
    assert stored["model"] == "gpt-4o-mini-2024-07-18"
    assert_same_triple(stored, store_directly(api, key, stored, "acme-direct"))
    metrics = httpx.get(f"{api}/metrics").text
    assert 'afterlaunch_otlp_unknown_total{field="intent"}' in metrics
