"""What every webhook parser shares: the error it raises, severity words, times and shape checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from bot.alerts.model import Severity
from bot.validation import parse_timestamp


class ParseError(ValueError):
    """A payload is not what its source sends; the message names the field and what was wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(("critical", "crit", "fatal", "emergency", "disaster", "page", "p1", "sev1", "sev-1"), "critical"),
    **dict.fromkeys(("high", "error", "err", "major", "p2", "sev2", "sev-2"), "high"),
    **dict.fromkeys(("warning", "warn", "medium", "moderate", "average", "p3", "sev3", "sev-3"), "medium"),
    **dict.fromkeys(("low", "minor", "p4", "sev4", "sev-4"), "low"),
    **dict.fromkeys(("info", "informational", "information", "none", "debug", "p5", "sev5", "sev-5"), "info"),
}
DEFAULT_SEVERITY: Severity = "high"
"""An alert whose severity cannot be read still pages: a missed page costs more than an extra one."""


def severity_of(value: object) -> Severity:
    """Map a source's severity word (any case) to ours; unknown or missing words get the safe default."""
    if not isinstance(value, str):
        return DEFAULT_SEVERITY
    return SEVERITY_WORDS.get(value.strip().lower(), DEFAULT_SEVERITY)


GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def parse_time(value: object, where: str, *, optional: bool = False) -> datetime | None:
    """An RFC 3339 time as sources send it (nanoseconds, Z); Go's zero time counts as absent."""
    if value is None or value == "":
        if optional:
            return None
        raise ParseError(where, "is required (an RFC 3339 time such as 2026-11-26T09:30:00Z)")
    if isinstance(value, str) and value.startswith("0001-01-01T00:00:00"):
        if optional:
            return None
        raise ParseError(where, "is Go's zero time; a real time is required")
    try:
        parsed = parse_timestamp(value)
    except ValueError as exc:
        raise ParseError(where, str(exc)) from None
    if parsed.year <= 1:
        if optional:
            return None
        raise ParseError(where, "is Go's zero time; a real time is required")
    return parsed


def need_dict(value: object, where: str) -> dict[str, Any]:
    """The value when it is a JSON object; else a ParseError naming where."""
    if not isinstance(value, dict):
        raise ParseError(where, f"must be a JSON object, not {_kind(value)}")
    return value


def need_list(value: object, where: str) -> list[Any]:
    """The value when it is a JSON array; else a ParseError naming where."""
    if not isinstance(value, list):
        raise ParseError(where, f"must be a JSON array, not {_kind(value)}")
    return value


def need_str(value: object, where: str, *, optional: bool = False) -> str | None:
    """The value when it is a (non-empty) string; else a ParseError naming where."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not optional and not value):
        raise ParseError(where, f"must be a non-empty string, not {_kind(value)}")
    return value


def str_map(value: object, where: str) -> dict[str, str]:
    """Labels and annotations: a JSON object of strings (absent means empty)."""
    if value is None:
        return {}
    found = need_dict(value, where)
    bad = [k for k, v in found.items() if not isinstance(v, str)]
    if bad:
        raise ParseError(f"{where}.{bad[0]}", f"must be a string, not {_kind(found[bad[0]])}")
    return dict(found)


def digest(text: str) -> str:
    """A short stable id for a long key (Alertmanager's groupKey can be kilobytes)."""
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
