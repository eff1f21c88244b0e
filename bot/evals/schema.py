"""Input shapes of the feedback, offline-results and labels APIs, validated per item like ``/v1/events``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from bot.ingest.schema import FUTURE_SLACK, Id, Name, Rejection
from bot.validation import parse_timestamp

ItemT = TypeVar("ItemT", bound=BaseModel)
Comment = Annotated[str, StringConstraints(max_length=4000)]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _timestamp(v: object) -> datetime | None:
    if v is None:
        return None
    if not isinstance(v, str) or not 10 <= len(v) <= 40:
        raise ValueError("must be an RFC 3339 timestamp string such as 2026-11-26T09:30:00Z")
    return parse_timestamp(v)


class FeedbackIn(_Item):
    """A thumbs up/down (``score``) or a rating in [0, 1] (``value``) on one logged request."""

    request_id: Id
    score: Literal[1, -1, 0] | None = None
    value: float | None = Field(default=None, ge=0, le=1)
    comment: Comment | None = None
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    timestamp: datetime | None = None
    tenant: Name | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _rfc3339(cls, v: object) -> datetime | None:
        return _timestamp(v)

    @model_validator(mode="after")
    def _one_verdict(self) -> FeedbackIn:
        if (self.score is None) == (self.value is None):
            raise ValueError("send exactly one of score (1, -1 or 0) and value (a rating in [0, 1])")
        return self

    @property
    def positive(self) -> bool:
        return self.score == 1 if self.score is not None else (self.value or 0.0) >= 0.5


class LabelIn(_Item):
    """A verdict on one production request made in another labelling tool."""

    request_id: Id
    label: Literal["pass", "fail", "unsure"]
    labeller: Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    note: Comment | None = None
    timestamp: datetime | None = None
    tenant: Name | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _rfc3339(cls, v: object) -> datetime | None:
        return _timestamp(v)


class RunIn(_Item):
    suite: Name
    started_at: datetime
    prompt_version: Name | None = None
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None

    @field_validator("started_at", mode="before")
    @classmethod
    def _rfc3339(cls, v: object) -> datetime | None:
        return _timestamp(v)


class ResultIn(_Item):
    case_id: Id
    intent: Name
    passed: bool
    score: float | None = None


class SignalResult(BaseModel):
    """What happened to each item: stored, already there (same content), changed, or refused with why."""

    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[Rejection] = Field(default_factory=list)

    def reject(self, index: int, field: str, message: str) -> None:
        self.rejected += 1
        self.errors.append(Rejection(index=index, field=field, message=message))


def validate_items(
    model: type[ItemT], items: Sequence[Any], name: str, result: SignalResult, now: datetime
) -> Iterator[tuple[int, ItemT]]:
    """Yield (index, item) for the valid ones; record every problem with its field path."""
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            result.reject(i, f"{name}[{i}]", "must be a JSON object")
            continue
        try:
            item = model.model_validate(raw)
        except ValidationError as exc:
            result.rejected += 1
            for e in exc.errors(include_url=False):
                path = f"{name}[{i}]" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
                msg = e["msg"].removeprefix("Value error, ")
                if e["type"] == "missing":
                    msg = "is required"
                elif e["type"] == "extra_forbidden":
                    msg = "is not a known field"
                result.errors.append(Rejection(index=i, field=path, message=msg))
            continue
        ts = getattr(item, "timestamp", None)
        if ts is not None and ts > now + FUTURE_SLACK:
            result.reject(i, f"{name}[{i}].timestamp", "is more than an hour in the future")
            continue
        yield i, item
