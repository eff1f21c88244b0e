"""Prompt, answer and retrieved documents out of a span, whichever convention wrote them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bot.ingest.schema import MAX_TEXT
from bot.otlp.attributes import indexed, json_value, parts_text, text

if TYPE_CHECKING:
    from bot.otlp.mapping import SpanRef

SpanEvents = list[tuple[str, dict[str, Any]]]
MAX_DOCS = 200
_ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def prompt(attrs: dict[str, Any], events: SpanEvents) -> dict[str, Any] | None:
    """``{"system", "messages"}`` as the event API stores it, or None when the span has no content."""
    turns = (
        _current_input(attrs)
        or _flat(indexed(attrs, "gen_ai.prompt."), "role", "content")
        or _flat(indexed(attrs, "llm.input_messages."), "message.role", "message.content")
        or _event_input(events)
        or _openinference_input(attrs)
    )
    system = parts_text(json_value(attrs.get("gen_ai.system_instructions")))
    if system is None:
        system = next((c for r, c in turns if r == "system"), None)
    rest = [{"role": r, "content": c} for r, c in turns if r != "system"]
    if system is None and not rest:
        return None
    out: dict[str, Any] = {"messages": rest}
    if system is not None:
        out["system"] = system
    return out


def response(attrs: dict[str, Any], events: SpanEvents) -> str | None:
    """The answer text: the first output message of whichever convention carries one."""
    output = json_value(attrs.get("gen_ai.output.messages"))
    if isinstance(output, list) and output and isinstance(output[0], dict):
        return parts_text(output[0].get("parts")) or text(output[0].get("content"))
    for prefix, key in (("gen_ai.completion.", "content"), ("llm.output_messages.", "message.content")):
        first = indexed(attrs, prefix)
        if first and isinstance(first[0].get(key), str):
            return first[0][key]
    for name, ev in events:
        if name == "gen_ai.choice":
            message = json_value(ev.get("message"))
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                return message["content"]
        if name == "gen_ai.content.completion":
            found = json_value(ev.get("gen_ai.completion"))
            if isinstance(found, list) and found and isinstance(found[0], dict):
                return text(found[0].get("content"))
            if isinstance(found, str):
                return found
    return _openinference_output(attrs)


def finish_reason(attrs: dict[str, Any], events: SpanEvents) -> str | None:
    reasons = attrs.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list) and reasons and isinstance(reasons[0], str):
        return reasons[0][:64]
    first = indexed(attrs, "gen_ai.completion.")
    if first and isinstance(first[0].get("finish_reason"), str):
        return first[0]["finish_reason"][:64]
    output = json_value(attrs.get("gen_ai.output.messages"))
    if isinstance(output, list) and output and isinstance(output[0], dict):
        return text(output[0].get("finish_reason"))
    return None


def invocation_model(attrs: dict[str, Any]) -> str | None:
    """OpenInference keeps the requested model inside ``llm.invocation_parameters`` (JSON)."""
    params = json_value(attrs.get("llm.invocation_parameters"))
    return text(params.get("model")) if isinstance(params, dict) else None


def documents(attrs: dict[str, Any], ref: SpanRef) -> list[dict[str, Any]]:
    """A retriever's documents as ``context`` entries (``doc_id``, ``text``, ``score``)."""
    found = [
        {"id": d.get("document.id"), "content": d.get("document.content"), "score": d.get("document.score")}
        for d in indexed(attrs, "retrieval.documents.")
    ]
    if not found:
        listed = json_value(attrs.get("gen_ai.retrieval.documents"))
        found = [d for d in listed if isinstance(d, dict)] if isinstance(listed, list) else []
    docs = []
    for n, d in enumerate(found):
        # Cut to the event API's limits here: a retriever's oversize document must not cost the model call.
        doc_id = str(d.get("id") or "").strip()[:200] or f"{ref.span_id}:{n}"
        doc: dict[str, Any] = {"doc_id": doc_id}
        if isinstance(d.get("content"), str):
            doc["text"] = d["content"][:MAX_TEXT]
        score = d.get("score")
        if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
            doc["score"] = float(score)
        docs.append(doc)
    return docs[:MAX_DOCS]


def _current_input(attrs: dict[str, Any]) -> list[tuple[str, str]]:
    messages = json_value(attrs.get("gen_ai.input.messages"))
    if not isinstance(messages, list):
        return []
    turns = []
    for m in messages:
        if isinstance(m, dict) and isinstance(m.get("role"), str):
            content = parts_text(m.get("parts")) or text(m.get("content")) or ""
            turns.append((m["role"], content))
    return turns


def _flat(items: list[dict[str, Any]], role_key: str, content_key: str) -> list[tuple[str, str]]:
    turns = []
    for item in items:
        role = item.get(role_key)
        if not isinstance(role, str):
            continue
        content = item.get(content_key)
        if not isinstance(content, str):
            # OpenInference splits multi-part content into message.contents.N.message_content.text
            parts = indexed(item, "message.contents.")
            content = "".join(
                p.get("message_content.text", "") for p in parts if isinstance(p.get("message_content.text"), str)
            )
        turns.append((role, content))
    return turns


def _event_input(events: SpanEvents) -> list[tuple[str, str]]:
    turns = []
    for name, ev in events:
        role = _ROLE_EVENTS.get(name)
        if role is not None:
            content = json_value(ev.get("content"))
            turns.append((role, content if isinstance(content, str) else parts_text(content) or ""))
        elif name == "gen_ai.content.prompt":
            found = json_value(ev.get("gen_ai.prompt"))
            if isinstance(found, list):
                turns.extend(
                    (m["role"], m.get("content") if isinstance(m.get("content"), str) else "")
                    for m in found
                    if isinstance(m, dict) and isinstance(m.get("role"), str)
                )
    return turns


def _openinference_input(attrs: dict[str, Any]) -> list[tuple[str, str]]:
    # input.value carries the raw request body when only the mime type says it is JSON.
    body = json_value(attrs.get("input.value"))
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        return [
            (m["role"], m["content"] if isinstance(m.get("content"), str) else parts_text(m.get("content")) or "")
            for m in body["messages"]
            if isinstance(m, dict) and isinstance(m.get("role"), str)
        ]
    if isinstance(body, str) and attrs.get("input.mime_type", "text/plain") == "text/plain":
        return [("user", body)]
    return []


def _openinference_output(attrs: dict[str, Any]) -> str | None:
    body = json_value(attrs.get("output.value"))
    if isinstance(body, dict):
        choices = body.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
            if isinstance(message, dict):
                return text(message.get("content"))
        return None
    if isinstance(body, str) and attrs.get("output.mime_type", "text/plain") == "text/plain":
        return body
    return None
