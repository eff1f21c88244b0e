"""Input checks that must agree with both databases, shared by every edge (events, webhooks, queries).

PostgreSQL's ``text`` refuses the NUL character where SQLite stores it, so an input that
passes here is storable on either; timestamps are parsed once, here, so that a time at the
calendar's edge is a message about the field instead of an ``OverflowError``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

EXAMPLE = "2026-11-26T09:30:00Z"
BAD_CHARS = ("\x00",)
"""Characters PostgreSQL text columns refuse (in a UTF-8 database, only NUL)."""

_ESCAPED_NUL = b"\\u0000"


def has_bad_text(value: Any) -> bool:
    """Whether any string inside ``value`` holds a character the database refuses (one C-speed pass)."""
    return _ESCAPED_NUL in orjson.dumps(value)


def bad_text_path(value: Any, path: str) -> str | None:
    """The path of the first string (key or value) inside ``value`` that holds a refused character."""
    if isinstance(value, str):
        return path if any(c in value for c in BAD_CHARS) else None
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and any(c in k for c in BAD_CHARS):
                return f"{path}.{k!r}" if path else repr(k)
            found = bad_text_path(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = bad_text_path(v, f"{path}[{i}]")
            if found:
                return found
    return None


BAD_TEXT_MESSAGE = "contains a NUL character (\\u0000), which the database cannot store"


def parse_timestamp(value: object, *, allow_date: bool = False) -> datetime:
    """An RFC 3339 time with a zone, in UTC; ValueError with a message a sender can act on.

    Times whose UTC value falls outside the calendar (year 1 with a positive offset,
    year 9999 with a negative one) are refused here rather than raising OverflowError.
    """
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        raise ValueError(f"must be an RFC 3339 timestamp string such as {EXAMPLE}, not {kind}")
    if not 10 <= len(value) <= 40:
        raise ValueError(f"must be an RFC 3339 timestamp string such as {EXAMPLE}")
    if not allow_date and "T" not in value and "t" not in value and " " not in value:
        raise ValueError("must be an RFC 3339 date-time, not a date")
    if "\x00" in value:
        raise ValueError(BAD_TEXT_MESSAGE)
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be an RFC 3339 timestamp such as {EXAMPLE}") from None
    if ts.tzinfo is None:
        raise ValueError("must carry a time zone (end it with Z or +00:00)")
    if ts.tzinfo is UTC:
        return ts
    try:
        return ts.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates that can be stored (years 1 to 9999 in UTC)") from None


def check_age(ts: datetime, *, now: datetime, oldest: timedelta, future: timedelta) -> str | None:
    """Why a time is outside the window kept for request figures, or None when inside it."""
    if ts > now + future:
        return f"is more than {int(future.total_seconds() // 60)} minutes in the future"
    if ts < now - oldest:
        return (
            f"is older than {oldest.days} days, the retention of request figures "
            f"(retention_days); send events from the last {oldest.days} days"
        )
    return None


def int_param(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    """A query parameter as an integer inside [low, high]; ValueError naming it otherwise."""
    if raw is None or raw == "":
        return default
    if len(raw) > 20 or not raw.lstrip("-").isdigit() or not raw.isascii():
        raise ValueError(f"{name} must be an integer between {low} and {high}")
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    return value
