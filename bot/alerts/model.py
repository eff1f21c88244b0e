"""The normalised alert every source is parsed into, and afterlaunch's own detectors produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
PAGED_SEVERITIES = frozenset({"critical", "high"})


@dataclass(frozen=True)
class Evidence:
    """What afterlaunch measured when it raised an alert itself: shown on the triage card."""

    summary: str
    figures: list[tuple[str, str]] = field(default_factory=list)
    cohort: dict[str, str] = field(default_factory=dict)
    sample_request_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AlertIn:
    """One alert as received: ``fingerprint`` groups deliveries of the same alert into one card."""

    source: str
    fingerprint: str
    status: Literal["firing", "resolved"]
    title: str
    severity: Severity
    labels: dict[str, str]
    starts_at: datetime
    annotations: dict[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    generator_url: str | None = None
    dashboard_url: str | None = None
    silence_url: str | None = None
    evidence: Evidence | None = None
    members: list[str] = field(default_factory=list)
    """One line per alert of a group (Alertmanager, Grafana): what differs between them and its status."""
    acknowledged_by: str | None = None
    """Set when the source says someone acknowledged it (PagerDuty), so Slack and the source stay in step."""
