"""afterlaunch's own detectors: each reads rollups at a moment ``now`` and returns findings.

A detector is a plain function ``(services, now) -> list[Finding]``; the
scheduler runs them every minute on the leader replica, ``afterlaunch detect``
runs them once at any moment (backfills, drills), and firing or resolved
findings become alerts (and triage cards) through ``bot.alerts.service.receive``.
A detector that also takes a ``dry_run`` keyword is given it under ``--dry-run`` and
must then leave its stored state untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.alerts.model import AlertIn, Evidence, Severity
from bot.services import Services


@dataclass(frozen=True)
class Finding:
    """Something a detector saw; ``key`` is stable across runs so one condition is one card."""

    detector: str
    key: str
    status: Literal["firing", "resolved"]
    severity: Severity
    title: str
    summary: str
    labels: dict[str, str]
    started_at: datetime
    figures: list[tuple[str, str]] = field(default_factory=list)
    sample_request_ids: list[str] = field(default_factory=list)

    def to_alert(self) -> AlertIn:
        cohort = {k: v for k, v in self.labels.items() if k not in ("detector", "cause", "severity")}
        return AlertIn(
            source="afterlaunch",
            fingerprint=f"afterlaunch:{self.key}",
            status=self.status,
            title=self.title,
            severity=self.severity,
            labels={"detector": self.detector, **self.labels},
            starts_at=self.started_at,
            evidence=Evidence(
                summary=self.summary, figures=self.figures, cohort=cohort, sample_request_ids=self.sample_request_ids
            ),
        )


Detector = Callable[[Services, datetime], list[Finding]]


def all_detectors() -> dict[str, Detector]:
    """Every detector by name; capabilities add theirs here."""
    from bot.cost.detector import detect_cost_burn
    from bot.cost.reconcile import detect_finance_gap
    from bot.leaks.detector import detect as detect_tenant_leak
    from bot.refusals import models_seen, shift

    return {
        "cost_burn": detect_cost_burn,
        "finance_gap": detect_finance_gap,
        "model_change": models_seen.detect,  # before refusal_shift: it records the snapshots a shift is tied to
        "refusal_shift": shift.detect,
        "tenant_leak": detect_tenant_leak,
    }


def run_detectors(
    services: Services, now: datetime, *, only: list[str] | None = None, dry_run: bool = False
) -> list[Finding]:
    """Run detectors once as the scheduler would at ``now``; unless dry, hand findings to the alert pipeline."""
    detectors = all_detectors()
    unknown = set(only or []) - set(detectors)
    if unknown:
        raise ValueError(f"unknown detector(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(detectors))}")
    findings: list[Finding] = []
    for name, detector in detectors.items():
        if only and name not in only:
            continue
        if dry_run and "dry_run" in inspect.signature(detector).parameters:
            findings += detector(services, now, dry_run=True)  # type: ignore[call-arg]  # keeps its state unwritten
        else:
            findings += detector(services, now)
    if findings and not dry_run:
        from bot.alerts.service import receive

        receive(services, [f.to_alert() for f in findings], now)
    return findings
