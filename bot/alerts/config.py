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


ChannelId = Annotated[str, StringConstraints(pattern=r"^[CG][A-Z0-9]{2,}$")]


class EscalationStep(_Strict):
    """One step of the escalation policy: whom to notify this many minutes after the page."""

    after_minutes: int = Field(ge=0, le=24 * 60)
    notify: Literal["oncall", "secondary"] | GroupId | ChannelId = Field(
        description='"oncall", "secondary", a user group id (S…) or a channel id (C…) for everyone in it'
    )


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
    escalation: list[EscalationStep] = Field(
        default_factory=list, description="replaces escalate_after_minutes when given; in after_minutes order"
    )
    calendar: str | None = Field(default=None, description="iCalendar schedule: a file path or an https:// URL")
    calendar_refresh_minutes: int = Field(default=15, ge=1, le=24 * 60)
    handoff_channel: str | None = Field(default=None, max_length=80, description="where each handoff is announced")

    @field_validator("calendar")
    @classmethod
    def _calendar_source(cls, v: str | None) -> str | None:
        if v is not None and "://" in v and not v.startswith("https://"):
            raise ValueError("a calendar URL must use https://; or give a file path")
        return v

    @field_validator("escalation")
    @classmethod
    def _in_order(cls, v: list[EscalationStep]) -> list[EscalationStep]:
        minutes = [s.after_minutes for s in v]
        if minutes != sorted(minutes):
            raise ValueError(f"escalation steps must be in after_minutes order; got {minutes}")
        return v

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
