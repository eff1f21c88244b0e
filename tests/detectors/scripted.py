"""A detector whose findings a test sets by hand, installed as a capability of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.capabilities import Capability
from bot.detectors import DetectorSpec, Finding
from bot.services import Services

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def finding(
    cohort: dict[str, str],
    *,
    key: str | None = None,
    incident: str = "",
    severity: str = "high",
    cause: str = "leaked_api_key",
    detector: str = "scripted",
) -> Finding:
    """A firing finding about one cohort; the key defaults to the cohort, so one cohort is one alarm."""
    where = ",".join(f"{k}={v}" for k, v in sorted(cohort.items()))
    return Finding(
        detector=detector,
        key=key or f"{detector}:{where}",
        status="firing",
        severity=severity,  # type: ignore[arg-type]
        title=f"Spend climbs on {where}",
        summary=f"{where} spends three times its usual hour.",
        labels=dict(cohort),
        started_at=T0,
        figures=[("spend", "$3.00")],
        sample_request_ids=[f"req_{where}"],
        cause=cause,
        incident=incident,
    )


@dataclass
class Script:
    """What the scripted detector returns on its next runs, and how often it ran."""

    firing: list[Finding] = field(default_factory=list)
    runs: int = 0
    fail: bool = False

    def detect(self, services: Services, now: datetime) -> list[Finding]:
        self.runs += 1
        if self.fail:
            raise RuntimeError("the scripted detector broke")
        return list(self.firing)


def capability(script: Script, *, resolve_after: int = 3, broken: Script | None = None) -> Capability:
    specs = [DetectorSpec("scripted", script.detect, every=None, resolve_after=resolve_after)]
    if broken is not None:
        specs.insert(0, DetectorSpec("broken", broken.detect, every=None))
    return Capability(name="scripted", detectors=specs)
