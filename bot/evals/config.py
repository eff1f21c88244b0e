"""The ``[evals]`` section of afterlaunch.toml: when to sample, where to label, and when divergence alarms."""

from __future__ import annotations

from typing import Annotated

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

DEFAULT_CATEGORIES = [
    "wrong_answer",
    "outdated_info",
    "hallucination",
    "unwanted_refusal",
    "tone",
    "format",
    "other",
]


class EvalsConfig(BaseModel):
    """Sampling, labelling and divergence settings (issue 18)."""

    model_config = ConfigDict(extra="forbid")

    schedule: str = "0 9 * * mon"
    """Cron (minute hour day month weekday, UTC) of the sampling job: weekly by default."""
    items_per_intent: int = Field(default=10, ge=1, le=200)
    channel: str | None = None
    """The labelling channel; without one, batches are stored but not posted."""
    labellers: Annotated[str, StringConstraints(pattern=r"^S[A-Z0-9]{2,}$")] | None = None
    """The Slack user group whose members label and see full text."""
    opted_out_tenants: list[str] = Field(default_factory=list)
    categories: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES), min_length=1, max_length=25
    )
    max_gap: float = Field(default=15.0, gt=0, le=100, description="points of pass rate")
    min_count: int = Field(default=30, ge=5, le=100_000)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        try:
            CronTrigger.from_crontab(v, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"not a cron expression (minute hour day month weekday): {exc}") from None
        return v
