"""Spans made by the real SDK (in memory), encoded by the real OTLP encoder."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

MS = 1_000_000


def record(build: Callable[[Tracer], Any], resource: dict[str, Any] | None = None) -> list[ReadableSpan]:
    provider = TracerProvider(resource=Resource.create({"service.name": "assistant", **(resource or {})}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    build(provider.get_tracer("test"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def encode(spans: list[ReadableSpan]) -> ExportTraceServiceRequest:
    return encode_spans(spans)


def body(spans: list[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString()


def chat_span(
    tracer: Tracer,
    attrs: dict[str, Any],
    *,
    start_ns: int | None = None,
    duration_ms: int = 850,
    error: str | None = None,
) -> None:
    """A model-call span as an instrumentation makes it (GenAI attributes unless ``attrs`` say otherwise)."""
    start = start_ns or time.time_ns() - 60_000 * MS
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai"}
    span = tracer.start_span("chat gpt-4o-mini", attributes={**base, **attrs}, start_time=start)
    if error:
        span.set_status(Status(StatusCode.ERROR, error))
    span.end(end_time=start + duration_ms * MS)


def llm_attrs(request_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "gen_ai.response.id": request_id,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": 812,
        "gen_ai.usage.output_tokens": 164,
        "afterlaunch.tenant": "acme",
        "afterlaunch.prompt_version": "support-v13",
        "afterlaunch.intent": "billing",
        **extra,
    }
