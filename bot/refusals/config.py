"""The ``[refusals]`` section of the config file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RefusalsConfig(BaseModel):
    """Refusal patterns added (regexes) or switched off (by name) on top of the maintained set (issue 7)."""

    model_config = ConfigDict(extra="forbid")

    extra_patterns: list[str] = Field(default_factory=list)
    disable_patterns: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _patterns_compile(self) -> RefusalsConfig:
        from bot.refusals.classify import RefusalPatterns

        RefusalPatterns.from_config(self.extra_patterns, self.disable_patterns)  # ValueError names the bad one
        return self
