"""LiteLLM proxy logs: its generic API logger's standard logging payload, mapped to events.

The proxy posts a JSON array (its default), one object, or NDJSON; each entry is one call
through the proxy (``StandardLoggingPayload`` in LiteLLM's types). Storing goes through the
ingest service like ``POST /v1/events``.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

import orjson

from bot.ingest.schema import IngestResult, Rejection
from bot.ingest.service import IngestConfig, Writer, ingest
from bot.otlp import metrics as otlp_metrics
from bot.otlp.attributes import integer, parts_text, text
from bot.otlp.config import OtlpConfig
from bot.otlp.mapping import EARLIEST_NS, UNKNOWN
from storage.engine import Database


class LogError(ValueError):
    """One entry that cannot become an event; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_entries(body: bytes) -> list[Any]:
    """A JSON array, a single object, or NDJSON lines (each an object or an array)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        entries: list[Any] = []
        for n, line in enumerate(body.splitlines(), 1):
            if line.strip():
                try:
                    item = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"line {n} is not JSON: {exc}") from None
                entries.extend(item if isinstance(item, list) else [item])
        return entries
    return data if isinstance(data, list) else [data]


def dig(entry: dict[str, Any], path: str) -> Any:
    """``metadata.user_api_key_team_alias`` looked up in nested dicts; None when any step is missing."""
    value: Any = entry
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _first(entry: dict[str, Any], paths: list[str]) -> str | None:
    for path in paths:
        value = dig(entry, path)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def to_event(entry: Any, cfg: OtlpConfig, *, key_tenant: str | None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """One log entry as an event of the event API, and which of intent/prompt_version were unknown."""
    if not isinstance(entry, dict):
        raise LogError("", "must be a JSON object (LiteLLM's standard logging payload)")
    request_id = text(entry.get("id"))
    if request_id is None:
        raise LogError("id", "is required")
    start, end = entry.get("startTime"), entry.get("endTime")
    if not isinstance(start, int | float) or isinstance(start, bool) or start * 1e9 < EARLIEST_NS:
        raise LogError("startTime", "must be seconds since the epoch, after the year 2000")
    tenant = _first(entry, cfg.litellm_tenant)
    if key_tenant is not None:
        if tenant is not None and tenant != key_tenant:
            raise LogError("tenant", f"this key may only write tenant {key_tenant!r}")
        tenant = key_tenant
    tenant = tenant or cfg.default_tenant
    if tenant is None:
        raise LogError("metadata", f"no tenant: set one of {', '.join(cfg.litellm_tenant)} or [otlp].default_tenant")
    intent = _first(entry, cfg.litellm_intent)
    version = _first(entry, cfg.litellm_prompt_version)
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    choice = _first_choice(response)
    metadata = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
    model = text(response.get("model")) or text(entry.get("model"))
    if model is None:
        raise LogError("model", "is required")
    failed = entry.get("status") == "failure"
    error_class = str(dig(entry, "error_information.error_class") or "")
    event: dict[str, Any] = {
        "request_id": request_id,
        "timestamp": datetime.fromtimestamp(start, UTC).isoformat().replace("+00:00", "Z"),
        "tenant": tenant,
        "intent": intent or UNKNOWN,
        "prompt_version": version or UNKNOWN,
        "model": model,
        "model_requested": text(entry.get("model_group")) or text(entry.get("model")),
        "provider": text(entry.get("custom_llm_provider")),
        "trace_id": text(entry.get("trace_id")),
        "session_id": text(entry.get("session_id")),
        "user_id": text(metadata.get("user_api_key_end_user_id")) or text(entry.get("end_user")),
        "input_tokens": integer(entry.get("prompt_tokens")) or 0,
        "output_tokens": integer(entry.get("completion_tokens")) or 0,
        "cached_tokens": integer(dig(response, "usage.prompt_tokens_details.cached_tokens")) or 0,
        "cost_usd": _number(entry.get("response_cost")),
        "latency_ms": (end - start) * 1000 if isinstance(end, int | float) and end >= start else None,
        "ttft_ms": _ttft(entry, start),
        "status": ("timeout" if "timeout" in error_class.lower() else "error") if failed else "ok",
        "finish_reason": text(choice.get("finish_reason")) if choice else None,
        "api_key_id": text(metadata.get("user_api_key_hash")),
        "client_ip": _ip(entry.get("requester_ip_address") or metadata.get("requester_ip_address")),
        "prompt": _prompt(entry.get("messages")),
        "response": _answer(choice, entry.get("response")),
        "labels": _labels(entry, metadata, failed),
    }
    unknown = tuple(n for n, v in (("intent", intent), ("prompt_version", version)) if v is None)
    return {k: v for k, v in event.items() if v is not None}, unknown


def _first_choice(response: dict[str, Any]) -> dict[str, Any] | None:
    choices = response.get("choices")
    return choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ttft(entry: dict[str, Any], start: float) -> float | None:
    first = entry.get("completionStartTime")
    if entry.get("stream") and isinstance(first, int | float) and first > start:
        return (first - start) * 1000
    return None


def _ip(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _prompt(messages: Any) -> dict[str, Any] | None:
    if not isinstance(messages, list):
        return None
    system, turns = None, []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            continue
        content = m.get("content")
        content = content if isinstance(content, str) else parts_text(content) or ""
        if m["role"] == "system" and system is None:
            system = content
        else:
            turns.append({"role": m["role"], "content": content})
    out: dict[str, Any] = {"messages": turns}
    if system is not None:
        out["system"] = system
    return out if system is not None or turns else None


def _answer(choice: dict[str, Any] | None, response: Any) -> str | None:
    if isinstance(response, str):
        return response or None
    message = choice.get("message") if choice else None
    return text(message.get("content")) if isinstance(message, dict) else None


def _labels(entry: dict[str, Any], metadata: dict[str, Any], failed: bool) -> dict[str, str] | None:
    labels = {
        "source": "litellm",
        "cache_hit": "true" if entry.get("cache_hit") else "false",
        "model_group": text(entry.get("model_group")),
        "team_alias": text(metadata.get("user_api_key_team_alias")),
        "team_id": text(metadata.get("user_api_key_team_id")),
        "user_api_key_user_id": text(metadata.get("user_api_key_user_id")),
        "key_alias": text(metadata.get("user_api_key_alias")),
        "error": (text(dig(entry, "error_information.error_message")) or text(entry.get("error_str")))
        if failed
        else None,
    }
    return {k: v[:500] for k, v in labels.items() if v is not None}


def store(
    db: Database, entries: list[Any], *, cfg: OtlpConfig, ingest_cfg: IngestConfig, writer: Writer, now: datetime
) -> IngestResult:
    """Map every entry, store the good ones through the ingest service; rejections keep entry indexes."""
    errors: list[Rejection] = []
    events, positions = [], []
    unknown: dict[str, int] = {}
    for i, entry in enumerate(entries):
        try:
            event, missing = to_event(entry, cfg, key_tenant=writer.tenant)
        except LogError as err:
            errors.append(Rejection(index=i, field=f"entries[{i}].{err.field}".rstrip("."), message=err.message))
            continue
        events.append(event)
        positions.append(i)
        for name in missing:
            unknown[name] = unknown.get(name, 0) + 1
    outcome = ingest(db, events, cfg=ingest_cfg, writer=writer, now=now)
    for err in outcome.errors:
        i = positions[err.index]
        errors.append(
            Rejection(index=i, field=err.field.replace(f"events[{err.index}]", f"entries[{i}]", 1), message=err.message)
        )
    for name, n in unknown.items():
        otlp_metrics.UNKNOWN.labels(name).inc(n)
    rejected = len({e.index for e in errors})
    return IngestResult(accepted=outcome.accepted, duplicates=outcome.duplicates, rejected=rejected, errors=errors)
