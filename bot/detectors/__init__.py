"""The detector kernel: capabilities' detectors evaluate, the kernel remembers, groups and delivers.

A detector is a pure evaluation ``(services, now) -> list[Finding]``: it reads
rollups and returns what is firing *now*, and writes nothing. The kernel
(:func:`run_detectors`, in :mod:`bot.detectors.kernel`) owns everything that
needs memory:

- alarm state, in one table (``storage/alarms.py``): a finding whose key is new
  opens an alarm; the same key on later runs updates it (its ``started_at``
  stays the first one); a key absent for ``resolve_after`` evaluations in a row
  resolves it, so a flapping signal does not open and close cards;
- dry runs (``--dry-run``): the same findings, nothing written at all;
- failure isolation: a detector that raises is logged with its name, its alarms
  stay as they were (a crash is not a recovery) and the others still run;
- incidents: findings sharing ``incident`` become ONE card (fingerprint
  ``afterlaunch:<incident>``) listing every cohort, updated in place as cohorts
  come and go, resolved when all have recovered (:mod:`bot.detectors.incidents`);
- runbook and kill switch: a finding that names no ``runbook`` gets the one the
  shipped runbooks match on its labels (plus ``detector`` and ``cause``), and
  its ``suggested_flag`` from that runbook's kill switch hint.

A detector may *read* its open alarms with :func:`bot.detectors.kernel.open_alarms`
(to keep a key stable, to lower a threshold while an alarm is open, or to reuse
what it left in ``Finding.memo``). Things that need memory of their own (model
snapshots seen, imports) are scheduled jobs, not detectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.alerts.model import AlertIn, Severity
    from bot.services import Services
    from storage.alarms import DetectorAlarm

NOT_COHORT = frozenset({"detector", "cause", "severity", "incident"})
"""Labels that describe the finding rather than the slice of traffic it is about."""


@dataclass(frozen=True)
class Finding:
    """Something a detector saw. ``key`` is stable across runs, so one condition is one alarm; start it
    with the detector's name (``latency_fallback:tenant=acme``): keys are unique across detectors.

    ``cause`` is a short machine name (``leaked_api_key``, ``fallback_share``);
    ``runbook`` the id (file stem under ``runbooks/``) of the runbook that fits;
    ``suggested_flag`` the kill switch and scope it suggests (``assistant api_key_id=k1``);
    ``incident`` the key shared by findings that are one incident (default: ``key``).
    ``memo`` is the detector's own note, stored with the alarm and read back through
    ``open_alarms`` on later runs (never shown).
    """

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
    cause: str = ""
    runbook: str = ""
    suggested_flag: str | None = None
    incident: str = ""
    memo: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.incident:
            object.__setattr__(self, "incident", self.key)
        if not self.cause and self.labels.get("cause"):
            object.__setattr__(self, "cause", self.labels["cause"])

    @property
    def cohort(self) -> dict[str, str]:
        """The slice of traffic the finding is about: its labels without the descriptive ones."""
        return {k: v for k, v in self.labels.items() if k not in NOT_COHORT}

    def alert_labels(self) -> dict[str, str]:
        labels = {"detector": self.detector, **self.labels}
        if self.cause:
            labels.setdefault("cause", self.cause)
        return labels

    def to_alert(self) -> AlertIn:
        """The alert of a finding that is an incident by itself (one cohort, one card)."""
        from bot.alerts.model import AlertIn, Evidence  # the alert pipeline's shape, needed only to deliver

        return AlertIn(
            source="afterlaunch",
            fingerprint=f"afterlaunch:{self.incident}",
            status=self.status,
            title=self.title,
            severity=self.severity,
            labels=self.alert_labels(),
            starts_at=self.started_at,
            evidence=Evidence(
                summary=self.summary,
                figures=self.figures,
                cohort=self.cohort,
                sample_request_ids=self.sample_request_ids,
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """The scripted form (``detect --json``, the alarm table): plain JSON types only."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "memo"}
        data.update(cohort=self.cohort, started_at=self.started_at.isoformat(), figures=[list(f) for f in self.figures])
        return data

    def with_(self, **changes: Any) -> Finding:
        return replace(self, **changes)


Detector = Callable[["Services", datetime], list[Finding]]
Resolver = Callable[["DetectorAlarm", Finding, datetime], Finding]
"""Words a resolution: ``(alarm, last firing finding, now) -> resolved finding``."""


@dataclass(frozen=True)
class DetectorSpec:
    """A detector as a capability declares it.

    ``every``: how often the kernel's scheduled job runs it (``None``: a job of the
    capability calls ``run_detectors(only=[name])`` itself). ``resolve_after``: how
    many evaluations in a row without the finding resolve its alarm (``None``: the
    ``[detectors] resolve_after`` setting, default 3); 1 suits detectors whose maths
    already has hysteresis. ``resolved``: words the resolution (default: the last
    title, marked resolved).
    """

    name: str
    evaluate: Detector
    every: timedelta | None = timedelta(minutes=1)
    resolve_after: int | None = None
    resolved: Resolver | None = None


from bot.detectors.kernel import all_detectors, open_alarms, run_detectors  # noqa: E402  (they use Finding)

__all__ = ["Detector", "DetectorSpec", "Finding", "Resolver", "all_detectors", "open_alarms", "run_detectors"]
