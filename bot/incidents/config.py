"""The ``[incidents]`` TOML section: where stakeholders read updates, how often updates are due."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from bot.services import Services

IncidentSeverity = Literal["sev1", "sev2", "sev3"]
SEVERITIES: tuple[IncidentSeverity, ...] = ("sev1", "sev2", "sev3")


class IncidentsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    updates_channel: str | None = Field(default=None, max_length=80, description="stakeholders' channel")
    update_every_minutes: dict[IncidentSeverity, int] = Field(
        default_factory=lambda: {"sev1": 30, "sev2": 60, "sev3": 240},
        description="a status update is overdue after this long, per severity",
    )
    default_severity: IncidentSeverity = "sev2"
    pin_reaction: str = Field(default="pushpin", min_length=1, max_length=64, description="marks a timeline message")
    channel_prefix: str = Field(default="inc", pattern=r"^[a-z0-9][a-z0-9_-]{0,20}$")

    def every(self, severity: str) -> int:
        """Minutes between status updates for a severity (the defaults fill what the file leaves out)."""
        defaults = {"sev1": 30, "sev2": 60, "sev3": 240}
        return self.update_every_minutes.get(severity, defaults.get(severity, 60))  # type: ignore[call-overload]


def incidents_config(services: Services) -> IncidentsConfig:
    """The ``[incidents]`` section, or its defaults when the file has none."""
    found = getattr(services.settings.file, "incidents", None)
    return found if isinstance(found, IncidentsConfig) else IncidentsConfig()
