"""The TOML sections of the leak capability: what marks a tenant's data, and the audit targets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

TenantName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantFingerprint(_Strict):
    """``[tenants.<name>]``: what must never appear in another tenant's traffic."""

    identifiers: list[Annotated[str, StringConstraints(min_length=3, max_length=200)]] = Field(default_factory=list)
    """Literal strings (company names, domains), matched case-insensitively on word boundaries."""
    patterns: list[str] = Field(default_factory=list)
    """Regexes such as the tenant's account-id format."""
    doc_prefixes: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(default_factory=list)
    """Context doc_ids starting with one of these belong to the tenant outright."""

    @field_validator("patterns")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                compiled = re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern {p!r} is not a valid regex: {exc}") from exc
            if compiled.groupindex:
                raise ValueError(f"pattern {p!r}: use (?:...) instead of named groups")
            if compiled.match(""):
                raise ValueError(f"pattern {p!r} matches the empty string")
        return patterns


class LeaksConfig(_Strict):
    """``[leaks]``: how document ownership is learned, and how long a leak keeps its card firing."""

    owner_min_requests: int = Field(default=20, ge=1)
    owner_min_days: int = Field(default=2, ge=1, le=365)
    shared_sources: list[str] = Field(default_factory=list)
    """Context sources every tenant may be served (e.g. the public help centre): never owned."""
    window_hours: int = Field(default=24, ge=1, le=24 * 30)
    """A leak keeps firing this long after the last request that carried it."""


class AuditTarget(_Strict):
    """``[audit.targets.<name>]``: an AI feature endpoint ``/audit isolation <name>`` may drive."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://")]
    template: Path
    tenants: list[TenantName] = Field(default_factory=lambda: ["audit-a", "audit-b"], min_length=2)
    rounds: int = Field(default=3, ge=1, le=100)
    concurrency: int = Field(default=4, ge=1, le=64)


class AuditConfig(_Strict):
    targets: dict[str, AuditTarget] = Field(default_factory=dict)
