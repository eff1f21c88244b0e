"""OTLP attribute lists as plain Python values, and the JSON-in-a-string fields of the conventions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson


def value_of(v: Any) -> Any:
    """One ``AnyValue`` as str, bool, int, float, bytes, list or dict (None when unset)."""
    which = v.WhichOneof("value")
    if which == "string_value":  # most attributes: one test before the general case
        return v.string_value
    if which is None:
        return None
    if which == "array_value":
        return [value_of(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return as_dict(v.kvlist_value.values)
    return getattr(v, which)


def as_dict(kvs: Iterable[Any]) -> dict[str, Any]:
    """A ``KeyValue`` list as a dict; later duplicates win, as in the SDKs."""
    out = {}
    for kv in kvs:
        out[kv.key] = value_of(kv.value)
    return out


def text(value: Any) -> str | None:
    """A string attribute, or None for anything else (an empty string counts as absent)."""
    return value if isinstance(value, str) and value else None


def integer(value: Any) -> int | None:
    """A token count: ints as they are, integral floats and digit strings converted, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def json_value(value: Any) -> Any:
    """A convention attribute that is JSON in a string (messages, documents), decoded; else as is."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Flattened lists such as ``gen_ai.prompt.0.role`` as ``[{"role": ...}, ...]`` in index order."""
    found: dict[int, dict[str, Any]] = {}
    n = len(prefix)
    for key in attrs:
        if key.startswith(prefix):
            index, _, rest = key[n:].partition(".")
            if rest and index.isdigit():
                found.setdefault(int(index), {})[rest] = attrs[key]
    return [found[i] for i in sorted(found)]


def parts_text(parts: Any) -> str | None:
    """The text of a current-convention message's ``parts`` (``{"type": "text", "content": ...}``)."""
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        return None
    texts = [
        p.get("content") if isinstance(p.get("content"), str) else p.get("text")
        for p in parts
        if isinstance(p, dict) and p.get("type", "text") == "text"
    ]
    joined = "".join(t for t in texts if isinstance(t, str))
    return joined or None
