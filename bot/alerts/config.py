"""The TOML sections for alerts: where cards go, who is on call, and per-source webhook tokens."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from bot.alerts.model import Severity

UserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,}$")]
GroupId = Annotated[str, StringConstraints(pattern=r"^S[A-Z0-9]{2,}$")]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteConfig(_Strict):
    """One routing rule: every condition given must hold; the first matching rule wins."""

    channel: str = Field(min_length=1, max_length=80)
    severity: list[Severity] = Field(default_factory=list, description="any of these severities")
    labels: dict[str, str] = Field(default_factory=dict, description="labels that must all be equal")
    tenant: str | None = Field(default=None, description="only alerts of this tenant (label 'tenant')")
    source: str | None = None


class RoutingConfig(_Strict):
    default: str | None = Field(default=None, description="overrides [channels].default and the environment")
    routes: list[RouteConfig] = Field(default_factory=list)
    storm_threshold: int = Field(default=5, ge=1, le=1000, description="cards per channel per minute before a digest")


class OverrideConfig(_Strict):
    """Someone covers the rotation between two moments (a swap, a holiday)."""

    user: UserId
    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")


class OncallConfig(_Strict):
    users: list[UserId] = Field(default_factory=list, description="weekly rotation, in order")
    usergroup: GroupId | None = Field(default=None, description="page a Slack user group instead of a rotation")
    handoff_day: Weekday = "monday"
    handoff_time: time = time(9, 0)
    timezone: str = "UTC"
    rotation_start: date = Field(default=date(2024, 1, 1), description="a date in the week users[0] was on call")
    overrides: list[OverrideConfig] = Field(default_factory=list)
    secondary: UserId | GroupId | None = Field(default=None, description="default: the next person in the rotation")
    escalate_after_minutes: int = Field(default=5, ge=1, le=24 * 60)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as 'Europe/Paris'") from None
        return v


class WebhookSourceConfig(_Strict):
    token: SecretStr | None = Field(default=None, description="overrides AFTERLAUNCH_WEBHOOK_TOKEN for this source")


class WebhooksConfig(_Strict):
    alertmanager: WebhookSourceConfig = Field(default_factory=WebhookSourceConfig)
    grafana: WebhookSourceConfig = Field(default_factory=WebhookSourceConfig)
    pagerduty: WebhookSourceConfig = Field(default_factory=WebhookSourceConfig)
    generic: WebhookSourceConfig = Field(default_factory=WebhookSourceConfig)
