"""The generic webhook: a documented JSON shape for any tool that can POST JSON.

```json
{"alerts": [{"id": "disk-full-db1", "status": "firing", "title": "Disk almost full on db1",
             "severity": "high", "starts_at": "2026-11-26T09:30:00Z",
             "labels": {"service": "db", "tenant": "acme"}, "annotations": {"description": "..."},
             "ends_at": null, "url": "https://...", "dashboard_url": null, "silence_url": null}]}
```

``id`` groups deliveries into one card; ``status`` is ``firing`` or ``resolved``;
``severity`` one of critical, high, medium, low, info; unknown fields are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from bot.alerts.model import AlertIn, Severity
from bot.validation import parse_timestamp
from bot.webhooks.common import ParseError

SOURCE = "generic"
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Time = Annotated[datetime, BeforeValidator(parse_timestamp)]
"""An RFC 3339 string with a zone, as documented: epoch numbers and bare dates are refused."""


class GenericAlert(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    status: Literal["firing", "resolved"]
    title: Text
    severity: Severity
    starts_at: Time
    ends_at: Time | None = None
    labels: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = Field(default_factory=dict)
    annotations: dict[str, Annotated[str, StringConstraints(max_length=20_000)]] = Field(default_factory=dict)
    url: Text | None = None
    dashboard_url: Text | None = None
    silence_url: Text | None = None


class GenericPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    alerts: list[GenericAlert] = Field(min_length=1, max_length=1000)


def parse(payload: object) -> list[AlertIn]:
    """One AlertIn per listed alert; ``id`` becomes the fingerprint."""
    try:
        body = GenericPayload.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ParseError(where, first["msg"].removeprefix("Value error, ")) from None
    return [
        AlertIn(
            source=SOURCE,
            fingerprint=f"{SOURCE}:{a.id}",
            status=a.status,
            title=a.title,
            severity=a.severity,
            labels=dict(a.labels),
            annotations=dict(a.annotations),
            starts_at=_utc(a.starts_at),
            ends_at=_utc(a.ends_at) if a.ends_at else None,
            generator_url=a.url,
            dashboard_url=a.dashboard_url,
            silence_url=a.silence_url,
        )
        for a in body.alerts
    ]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
