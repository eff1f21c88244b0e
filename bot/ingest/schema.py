"""The event API's input shape, validated at the edge with plain pydantic models.

Field names follow the OpenTelemetry GenAI conventions where one exists (see
docs/events.md). Unknown fields are refused so that a misspelt optional field
is reported instead of silently dropped.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from bot.validation import parse_timestamp

Id = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(max_length=200)]

MAX_TEXT = 200_000
MAX_LATENCY_MS = 3_600_000
"""An hour: a request reported slower than that is a unit or clock bug, and would poison the latency histograms."""
FUTURE_SLACK = timedelta(hours=1)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# The parts of an event that are only checked and stored as they came are TypedDicts: they
# validate to plain dicts, several times cheaper than model instances on the ingest path.
_PART = ConfigDict(extra="forbid", strict=True)


@with_config(_PART)
class Message(TypedDict):
    role: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    content: Annotated[str, StringConstraints(max_length=MAX_TEXT)]


@with_config(_PART)
class Prompt(TypedDict, total=False):
    system: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None
    messages: Annotated[list[Message], Field(max_length=500)]


@with_config(_PART)
class ContextDoc(TypedDict):
    doc_id: Id
    source: NotRequired[ShortText | None]
    text: NotRequired[Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None]
    score: NotRequired[float | None]


def _as_sent(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # Checked, then kept as the client sent it: the body stores it that way, and a validated
    # copy that nobody reads would only be more objects for the collector to trace per batch.
    handler(value)
    return value


class EventIn(_Model):
    """One LLM request as the AI feature reports it."""

    request_id: Id
    timestamp: datetime = Field(description="RFC 3339 with a time zone; stored in UTC")
    tenant: Name
    prompt_version: Name
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]

    intent: Name | None = None
    category: Name | None = None
    path: Name | None = None
    session_id: Id | None = None
    trace_id: Id | None = None
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    model_requested: ShortText | None = None
    provider: Annotated[str, StringConstraints(max_length=100)] | None = None
    system_fingerprint: ShortText | None = None
    prompt: Annotated[Prompt | None, WrapValidator(_as_sent)] = None
    context: Annotated[list[ContextDoc] | None, Field(max_length=200), WrapValidator(_as_sent)] = None
    response: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None = None
    input_tokens: int = Field(default=0, ge=0, le=100_000_000)
    output_tokens: int = Field(default=0, ge=0, le=100_000_000)
    cached_tokens: int = Field(default=0, ge=0, le=100_000_000)
    cost_usd: float | None = Field(default=None, ge=0, le=1_000_000)
    latency_ms: float | None = Field(default=None, ge=0, le=MAX_LATENCY_MS)
    ttft_ms: float | None = Field(default=None, ge=0, le=MAX_LATENCY_MS)
    status: Literal["ok", "error", "timeout"] = "ok"
    finish_reason: Annotated[str, StringConstraints(max_length=64)] | None = None
    refused: bool | None = None
    attempt: int = Field(default=1, ge=1, le=1000)
    parent_request_id: Id | None = None
    agent_step: int | None = Field(default=None, ge=0, le=100_000)
    api_key_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    client_ip: Annotated[str, StringConstraints(max_length=64)] | None = None
    labels: (
        dict[
            Annotated[str, StringConstraints(min_length=1, max_length=64)],
            Annotated[str, StringConstraints(max_length=500)],
        ]
        | None
    ) = Field(default=None, max_length=50)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _rfc3339(cls, v: object) -> datetime:
        return parse_timestamp(v)

    @field_validator("client_ip")
    @classmethod
    def _ip(cls, v: str | None) -> str | None:
        return None if v is None else _normalise_ip(v)

    @model_validator(mode="after")
    def _tokens(self) -> EventIn:
        if self.cached_tokens > self.input_tokens:
            raise ValueError("cached_tokens cannot exceed input_tokens (input_tokens counts cached ones too)")
        return self

    def when(self) -> datetime:
        return self.timestamp


@lru_cache(maxsize=65536)
def _normalise_ip(v: str) -> str:
    # Cached: a feature's traffic comes from few addresses, and parsing is costly on the hot path.
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


class Rejection(BaseModel):
    index: int
    field: str
    message: str


class IngestResult(BaseModel):
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[Rejection] = Field(default_factory=list)


def check_not_future(event: EventIn, now: datetime) -> str | None:
    """Events from the future are clock bugs; accepting them would poison rollups ahead of time."""
    if event.when() > now + FUTURE_SLACK:
        return f"is more than {int(FUTURE_SLACK.total_seconds() // 60)} minutes in the future"
    return None
