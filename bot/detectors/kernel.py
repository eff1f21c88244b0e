"""The runner: evaluate detectors, keep their alarms in one table, hand incidents to the alert pipeline."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from bot.capabilities import installed
from bot.detectors import DetectorSpec, Finding
from bot.detectors.incidents import alerts_for, finding_of
from bot.scheduler import Job
from bot.services import Services
from storage import alarms as store
from storage.alarms import DetectorAlarm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenAlarm:
    """What a detector may read about one of its open alarms."""

    key: str
    incident: str
    severity: str
    started_at: datetime
    first_seen: datetime
    last_seen: datetime
    clean_runs: int
    labels: dict[str, str]
    memo: dict[str, Any]


def all_detectors() -> dict[str, DetectorSpec]:
    """Every installed detector by name, in capability order."""
    specs: dict[str, DetectorSpec] = {}
    for capability in installed():
        for spec in capability.detectors:
            if spec.name in specs:
                raise TypeError(f"detector {spec.name} is declared twice (again by {capability.name})")
            specs[spec.name] = spec
    return specs


def open_alarms(services: Services, detector: str) -> dict[str, OpenAlarm]:
    """A detector's open alarms by key: read-only, for stable keys, hysteresis and its memo."""
    with services.db.session() as session:
        rows = store.list_open_alarms(session=session, detectors=[detector])
    kept = [f.name for f in fields(OpenAlarm) if f.name not in ("labels", "memo")]
    return {
        r.key: OpenAlarm(
            **{name: getattr(r, name) for name in kept},
            labels=json.loads(r.finding).get("labels", {}),
            memo=json.loads(r.memo),
        )
        for r in rows
    }


DRILL_PREFIX = "drill-"
"""Cohorts named after a drill (a tenant, intent or category starting with this) belong to ``afterlaunch drill``."""


def is_drill(finding: Finding) -> bool:
    return any(str(v).startswith(DRILL_PREFIX) for v in finding.cohort.values())


def run_detectors(
    services: Services,
    now: datetime,
    *,
    only: list[str] | None = None,
    dry_run: bool = False,
    include_drills: bool = False,
) -> list[Finding]:
    """Run detectors once at ``now``: firing findings, then resolutions; unless dry, store and deliver them.

    A dry run returns the same findings and writes nothing at all (no alarm, no alert, no card).
    Findings about a drill's cohorts are dropped unless ``include_drills`` (the drill's own dry runs):
    a drill running beside the scheduler never opens a real alarm.
    """
    specs = all_detectors()
    unknown = set(only or []) - set(specs)
    if unknown:
        raise ValueError(f"unknown detector(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(specs))}")
    chosen = [s for s in specs.values() if not only or s.name in only]
    found: dict[str, list[Finding]] = {}
    for spec in chosen:
        try:
            fired = [f for f in spec.evaluate(services, now) if f.status == "firing"]
            found[spec.name] = [with_runbook(f) for f in fired if include_drills or not is_drill(f)]
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("detector %s failed (ref %s); its alarms stay as they were", spec.name, ref)
    if not found:
        return []
    settings = services.settings.file.detectors
    with services.db.session() as session:
        before = store.list_open_alarms(session=session, detectors=list(found))
        for row in before:
            session.expunge(row)
    findings: list[Finding] = []
    rows: list[DetectorAlarm] = []
    for name, fired in found.items():
        spec = specs[name]
        limit = settings.resolve_after_by.get(name) or spec.resolve_after or settings.resolve_after
        out, changed = _step(spec, fired, [a for a in before if a.detector == name], now, limit)
        findings += out
        rows += changed
    with services.db.session() as session:
        touched = {r.incident for r in rows}
        stored = {a.key: a for a in store.list_incident_alarms(session=session, incidents=touched)}
        for row in stored.values():
            session.expunge(row)
    alerts = alerts_for(findings, rows, stored, now)
    if dry_run:
        return findings
    with services.db.write_session() as session:
        for row in rows:
            session.merge(row)
    if alerts:
        from bot.alerts.service import receive  # the alert pipeline turns incidents into cards and pages

        receive(services, alerts, now)
    return findings


def _step(
    spec: DetectorSpec, fired: list[Finding], alarms: list[DetectorAlarm], now: datetime, resolve_after: int
) -> tuple[list[Finding], list[DetectorAlarm]]:
    """One detector's evaluation against its open alarms: what it reports, and the rows as they become."""
    current = {a.key: a for a in alarms}
    out: list[Finding] = []
    rows: list[DetectorAlarm] = []
    seen: set[str] = set()
    for finding in fired:
        if finding.key in seen:
            continue
        seen.add(finding.key)
        alarm = current.get(finding.key)
        if alarm is not None:
            finding = finding.with_(started_at=alarm.started_at)  # the alarm began when it first fired
        out.append(finding)
        rows.append(
            DetectorAlarm(
                key=finding.key,
                detector=spec.name,
                incident=finding.incident,
                status="open",
                severity=finding.severity,
                started_at=finding.started_at,
                first_seen=alarm.first_seen if alarm is not None else now,
                last_seen=now,
                clean_runs=0,
                finding=json.dumps(_stored(finding)),
                memo=json.dumps(finding.memo, default=str),
            )
        )
    for key, alarm in current.items():
        if key in seen:
            continue
        clean = alarm.clean_runs + 1
        row = _copy(alarm, clean_runs=clean)
        if clean >= resolve_after:
            last = finding_of(alarm)
            resolved = (spec.resolved or default_resolved)(alarm, last, now)
            out.append(resolved.with_(status="resolved", key=alarm.key, incident=alarm.incident))
            row.status, row.resolved_at = "resolved", now
        rows.append(row)
    return out, rows


def _stored(finding: Finding) -> dict[str, Any]:
    data = finding.to_json()
    for name in ("detector", "key", "incident", "status", "severity", "started_at", "cohort"):
        data.pop(name)
    return data


def _copy(alarm: DetectorAlarm, **changes: Any) -> DetectorAlarm:
    values = {name: getattr(alarm, name) for name in DetectorAlarm.model_fields}
    return DetectorAlarm(**{**values, **changes})


def default_resolved(alarm: DetectorAlarm, last: Finding, now: datetime) -> Finding:
    """A resolution in general words: the last title, and how long the finding has been away."""
    quiet = alarm.clean_runs + 1
    return last.with_(
        status="resolved",
        title=f"Resolved: {last.title}"[:150],
        summary=f"Not seen in {quiet} evaluation(s) since {alarm.last_seen:%Y-%m-%d %H:%M} UTC.",
        memo={},
    )


def with_runbook(finding: Finding) -> Finding:
    """Fill ``runbook`` (and ``suggested_flag``) from the shipped runbooks when the detector named none."""
    if finding.runbook:
        return finding
    from bot.runbooks.loader import shipped_runbooks
    from bot.runbooks.match import kill_switch_scope, match_runbook

    labels = finding.alert_labels()
    try:
        runbook = match_runbook(list(shipped_runbooks()), labels)
    except LookupError:
        return finding
    flag = finding.suggested_flag
    scope = kill_switch_scope(runbook, labels)
    if flag is None and scope is not None and runbook.kill_switch is not None:
        flag = " ".join([runbook.kill_switch.flag, *(f"{k}={v}" for k, v in sorted(scope.items()))])
    return finding.with_(runbook=runbook.id, suggested_flag=flag)


def detector_jobs() -> list[Job]:
    """One scheduled job per detector that declares ``every``: it runs that detector through the kernel."""
    jobs = []
    for spec in all_detectors().values():
        if spec.every is None:
            continue

        def run(services: Services, now: datetime, name: str = spec.name) -> list[Finding]:
            return run_detectors(services, now, only=[name])

        seconds = int(spec.every.total_seconds())
        jobs.append(Job(id=spec.name, run=run, trigger="interval", trigger_args={"seconds": seconds}))
    return jobs
