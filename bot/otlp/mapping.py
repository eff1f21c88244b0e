"""One span to an event of the event API (docs/events.md has the table), or to retrieved documents.

Three families of conventions are read: OpenTelemetry GenAI (current attributes and the
previous ``gen_ai.system`` / event-based forms), OpenLLMetry's flattened ``gen_ai.prompt.N``
attributes, and OpenInference's ``llm.*`` / ``retrieval.documents.N`` attributes. The first
family that answers a field wins, in that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.otlp import messages
from bot.otlp.attributes import as_dict, integer, text
from bot.otlp.config import OtlpConfig

LLM_OPERATIONS = {"chat", "text_completion", "completion", "generate_content"}
RETRIEVAL_OPERATIONS = {"retrieval", "retrieve"}
EARLIEST_NS = 946_684_800 * 10**9  # 2000-01-01: anything older is an unset or broken clock
STATUS_ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR
UNKNOWN = "unknown"


@dataclass(frozen=True)
class SpanRef:
    trace_id: str
    span_id: str


@dataclass(frozen=True)
class LlmCall:
    ref: SpanRef
    tenant: str
    start_ms: int
    event: dict[str, Any]
    """What a client of ``POST /v1/events`` would have sent for this call (context joined later)."""
    unknown: tuple[str, ...]
    """``intent`` / ``prompt_version`` when no configured attribute carried them."""


@dataclass(frozen=True)
class Retrieval:
    ref: SpanRef
    tenant: str
    start_ms: int
    end_ms: int
    docs: list[dict[str, Any]]


@dataclass(frozen=True)
class Rejected:
    ref: SpanRef
    reason: str


def kind_of(attrs: dict[str, Any]) -> str | None:
    """``llm`` for a model call, ``retrieval`` for a retriever, None for every other span."""
    oi_kind = attrs.get("openinference.span.kind")
    if isinstance(oi_kind, str):
        oi_kind = oi_kind.upper()
        if oi_kind == "LLM":
            return "llm"
        if oi_kind == "RETRIEVER":
            return "retrieval"
    operation = attrs.get("gen_ai.operation.name")
    if operation in LLM_OPERATIONS:
        return "llm"
    if operation in RETRIEVAL_OPERATIONS:
        return "retrieval"
    if operation is None and attrs.get("llm.request.type") in ("chat", "completion"):
        return "llm"  # OpenLLMetry before it wrote gen_ai.operation.name
    if operation is None and "gen_ai.system" in attrs and "gen_ai.request.model" in attrs:
        return "llm"  # the previous GenAI conventions
    return None


def pick(names: list[str], attrs: dict[str, Any], resource: dict[str, Any]) -> str | None:
    """The first configured attribute that is set: span attributes, or ``resource:`` ones."""
    for name in names:
        source, key = (resource, name[9:]) if name.startswith("resource:") else (attrs, name)
        value = source.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return None


def hex_id(raw: bytes) -> str:
    return raw.hex()


def map_span(
    span: Any, resource: dict[str, Any], cfg: OtlpConfig, *, key_tenant: str | None
) -> LlmCall | Retrieval | Rejected | None:
    """What one span becomes; None for spans that are neither a model call nor a retrieval."""
    attrs = as_dict(span.attributes)
    kind = kind_of(attrs)
    if kind is None:
        return None
    ref = SpanRef(hex_id(span.trace_id), hex_id(span.span_id))
    if len(ref.trace_id) != 32 or len(ref.span_id) != 16:
        return Rejected(ref, "trace_id must be 16 bytes and span_id 8 bytes")
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if start < EARLIEST_NS:
        return Rejected(ref, "start_time_unix_nano is unset or before the year 2000")
    if end and end < start:
        return Rejected(ref, "end_time_unix_nano is before start_time_unix_nano")
    tenant = pick(cfg.tenant, attrs, resource)
    if key_tenant is not None:
        if tenant is not None and tenant != key_tenant:
            return Rejected(ref, f"this key may only write tenant {key_tenant!r}, the span names {tenant[:128]!r}")
        tenant = key_tenant
    tenant = tenant or cfg.default_tenant
    if tenant is None:
        names = ", ".join(cfg.tenant)
        return Rejected(ref, f"no tenant: set one of the attributes {names} or [otlp].default_tenant")
    if kind == "retrieval":
        return Retrieval(ref, tenant, start // 1_000_000, (end or start) // 1_000_000, messages.documents(attrs, ref))
    return _llm_call(span, attrs, resource, cfg, ref, tenant)


def _llm_call(
    span: Any, attrs: dict[str, Any], resource: dict[str, Any], cfg: OtlpConfig, ref: SpanRef, tenant: str
) -> LlmCall | Rejected:
    model = (
        text(attrs.get("gen_ai.response.model"))
        or text(attrs.get("llm.model_name"))
        or text(attrs.get("gen_ai.request.model"))
    )
    if model is None:
        return Rejected(
            ref, "no model: the span has none of gen_ai.response.model, llm.model_name, gen_ai.request.model"
        )
    intent = pick(cfg.intent, attrs, resource)
    version = pick(cfg.prompt_version, attrs, resource)
    unknown = tuple(name for name, v in (("intent", intent), ("prompt_version", version)) if v is None)
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    events = [(e.name, as_dict(e.attributes)) for e in span.events]
    event: dict[str, Any] = {
        "request_id": text(attrs.get("gen_ai.response.id")) or f"{ref.trace_id}-{ref.span_id}",
        "timestamp": datetime.fromtimestamp(start / 1e9, UTC).isoformat().replace("+00:00", "Z"),
        "tenant": tenant,
        "prompt_version": version or UNKNOWN,
        "intent": intent or UNKNOWN,
        "model": model,
        "trace_id": ref.trace_id,
    }
    optional = {
        "model_requested": text(attrs.get("gen_ai.request.model")) or messages.invocation_model(attrs),
        "provider": text(attrs.get("gen_ai.provider.name"))
        or text(attrs.get("gen_ai.system"))
        or text(attrs.get("llm.provider"))
        or text(attrs.get("llm.system")),
        "session_id": text(attrs.get("session.id")) or text(attrs.get("gen_ai.conversation.id")),
        "user_id": text(attrs.get("user.id")) or text(attrs.get("enduser.id")),
        "system_fingerprint": text(attrs.get("openai.response.system_fingerprint"))
        or text(attrs.get("gen_ai.openai.response.system_fingerprint")),
        "input_tokens": _first_int(
            attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"
        ),
        "output_tokens": _first_int(
            attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"
        ),
        "cached_tokens": _first_int(
            attrs,
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
        "latency_ms": (end - start) / 1e6 if end else None,
        "finish_reason": messages.finish_reason(attrs, events),
        "prompt": messages.prompt(attrs, events),
        "response": messages.response(attrs, events),
    }
    event.update((k, v) for k, v in optional.items() if v is not None)
    event["status"] = _status(span, attrs)
    return LlmCall(ref, tenant, start // 1_000_000, event, unknown)


def _first_int(attrs: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = integer(attrs.get(name))
        if value is not None:
            return value
    return None


def _status(span: Any, attrs: dict[str, Any]) -> str:
    error_type = attrs.get("error.type")
    if span.status.code != STATUS_ERROR and not error_type:
        return "ok"
    clue = f"{error_type or ''} {span.status.message}".lower()
    return "timeout" if "timeout" in clue or "timed out" in clue else "error"
