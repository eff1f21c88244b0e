"""Span -> event for each family of conventions, on spans the SDK made and the OTLP encoder wrote."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.trace import Tracer

from bot.otlp.attributes import as_dict
from bot.otlp.config import OtlpConfig
from bot.otlp.join import JoinSpan, assign
from bot.otlp.mapping import LlmCall, Rejected, Retrieval, map_span
from bot.otlp.service import map_request
from tests.otlp.spans import chat_span, encode, record

CFG = OtlpConfig()


def mapped_one(attrs: dict[str, Any], resource: dict[str, Any] | None = None, **kw: Any) -> Any:
    request = encode(record(lambda t: chat_span(t, attrs, **kw), resource))
    rs = request.resource_spans[0]
    return map_span(rs.scope_spans[0].spans[0], as_dict(rs.resource.attributes), CFG, key_tenant=None)


def test_openllmetry_flattened_prompt_and_completion() -> None:
    call = mapped_one(
        {
            "gen_ai.operation.name": None,
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "Be brief.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Hi",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Hello.",
            "gen_ai.completion.0.finish_reason": "stop",
            "gen_ai.usage.prompt_tokens": 12,
            "gen_ai.usage.completion_tokens": 3,
            "gen_ai.usage.cache_read_input_tokens": 4,
            "traceloop.association.properties.tenant": "acme",
            "traceloop.prompt.version": "7",
        }
    )
    assert isinstance(call, LlmCall)
    e = call.event
    assert e["prompt"] == {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}
    assert (e["response"], e["finish_reason"]) == ("Hello.", "stop")
    assert (e["input_tokens"], e["output_tokens"], e["cached_tokens"]) == (12, 3, 4)
    assert (e["tenant"], e["prompt_version"], e["intent"]) == ("acme", "7", "unknown")
    assert call.unknown == ("intent",)
    assert e["request_id"] == f"{call.ref.trace_id}-{call.ref.span_id}"


def test_previous_genai_conventions_with_event_messages() -> None:
    def build(t: Tracer) -> None:
        span = t.start_span(
            "chat",
            attributes={
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.finish_reasons": ["length"],
                "tenant.id": "acme",
                "error.type": "TimeoutError",
            },
        )
        span.add_event("gen_ai.system.message", {"content": "Be brief."})
        span.add_event("gen_ai.user.message", {"content": "Hi"})
        span.add_event("gen_ai.choice", {"message": json.dumps({"content": "Hel"})})
        span.end()

    request = encode(record(build))
    out = map_request(request, CFG, key_tenant=None)
    [call] = out.calls
    e = call.event
    assert (e["provider"], e["model"], e["model_requested"]) == ("openai", "gpt-4o", "gpt-4o")
    assert e["prompt"] == {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}
    assert (e["response"], e["finish_reason"], e["status"]) == ("Hel", "length", "timeout")


def test_current_genai_messages_and_error_status() -> None:
    call = mapped_one(
        {
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]),
            "gen_ai.output.messages": json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "Hello."}], "finish_reason": "stop"}]
            ),
            "gen_ai.conversation.id": "conv-1",
            "user.id": "u-9",
        },
        {"resource:ignored": "x", "afterlaunch.tenant": "acme"},
        error="upstream 500",
    )
    e = call.event
    assert e["prompt"] == {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}
    assert (e["response"], e["session_id"], e["user_id"], e["status"]) == ("Hello.", "conv-1", "u-9", "error")


def test_openinference_raw_request_and_response_values() -> None:
    call = mapped_one(
        {
            "gen_ai.operation.name": None,
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "input.value": json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}),
            "input.mime_type": "application/json",
            "output.value": json.dumps({"choices": [{"message": {"content": "Hello."}}]}),
            "output.mime_type": "application/json",
            "llm.token_count.prompt": 5,
            "afterlaunch.tenant": "acme",
        }
    )
    assert call.event["prompt"] == {"messages": [{"role": "user", "content": "Hi"}]}
    assert (call.event["response"], call.event["input_tokens"]) == ("Hello.", 5)


def test_a_model_call_without_a_model_is_rejected_and_tools_are_dropped() -> None:
    def build(t: Tracer) -> None:
        t.start_span("c", attributes={"gen_ai.operation.name": "chat", "afterlaunch.tenant": "acme"}).end()
        t.start_span("tool", attributes={"gen_ai.operation.name": "execute_tool"}).end()
        t.start_span("r", attributes={"openinference.span.kind": "RETRIEVER", "tenant.id": "acme"}).end()

    out = map_request(encode(record(build)), CFG, key_tenant=None)
    assert [type(x) for x in out.rejected] == [Rejected] and "no model" in out.rejected[0].reason
    assert out.dropped == 1
    assert [type(x) for x in out.retrievals] == [Retrieval] and out.retrievals[0].docs == []


def test_each_retrieval_joins_the_first_call_after_it_within_the_window() -> None:
    def span(kind: str, name: str, start: int, end: int, trace: str = "t") -> JoinSpan:
        return JoinSpan("acme", trace, name, kind, start, end, docs=(name,))

    spans = [
        span("retrieval", "r1", 0, 100),
        span("llm", "c1", 150, 150),
        span("retrieval", "r2", 200, 300),
        span("llm", "c2", 400, 400),
        span("retrieval", "r3", 500, 600),
        span("llm", "c3", 600 + 30_001, 0),  # just past the 30 s window
        span("retrieval", "other", 0, 100, trace="u"),
    ]
    joined = assign(spans, window_ms=30_000)
    assert {k[2]: [r.span_id for r in v] for k, v in joined.items()} == {"c1": ["r1"], "c2": ["r2"]}
