"""Incidents: findings that share an ``incident`` key become one card listing every cohort.

The card is an alert with fingerprint ``afterlaunch:<incident>``, so the alert pipeline
updates it in place as cohorts join, go quiet or recover, and resolves it only when every
cohort of the episode has recovered. The alert shape is imported only when delivering, so
the kernel loads no capability before the list is read. A finding that is an incident by itself (its
``incident`` is its own key) keeps the plain single-cohort card.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from bot.cards.text import render
from bot.detectors import Finding
from storage.alarms import DetectorAlarm

if TYPE_CHECKING:
    from bot.alerts.model import AlertIn

MAX_SAMPLES = 10


def finding_of(alarm: DetectorAlarm) -> Finding:
    """The last firing finding of an alarm, as stored (alarms carried over by a migration hold only labels)."""
    data = json.loads(alarm.finding)
    return Finding(
        detector=alarm.detector,
        key=alarm.key,
        status="firing",
        severity=alarm.severity,  # type: ignore[arg-type]
        title=data.get("title") or alarm.key,
        summary=data.get("summary", ""),
        labels=data.get("labels", {}),
        started_at=alarm.started_at,
        figures=[(str(a), str(b)) for a, b in data.get("figures", [])],
        sample_request_ids=data.get("sample_request_ids", []),
        cause=data.get("cause", ""),
        runbook=data.get("runbook", ""),
        suggested_flag=data.get("suggested_flag"),
        incident=alarm.incident,
        memo=json.loads(alarm.memo),
    )


def episode(members: list[DetectorAlarm]) -> list[DetectorAlarm]:
    """The alarms of an incident's current episode: the open ones and those that recovered since it began."""
    live = [m for m in members if m.status == "open"]
    just_resolved = [m for m in members if m.status == "resolved" and not live]
    start_from = live or just_resolved
    if not start_from:
        return []
    start = min(m.first_seen for m in start_from)
    if not live:
        latest = max(m.resolved_at for m in just_resolved if m.resolved_at is not None)
        start = min(m.first_seen for m in just_resolved if m.resolved_at == latest)
    return [m for m in members if m.status == "open" or (m.resolved_at is not None and m.resolved_at >= start)]


def alerts_for(
    findings: list[Finding], rows: list[DetectorAlarm], stored: dict[str, DetectorAlarm], now: datetime
) -> list[AlertIn]:
    """The alerts one run sends: a plain card per lone finding, one grouped card per touched incident."""
    after = {**stored, **{r.key: r for r in rows}}
    by_key = {f.key: f for f in findings}
    incidents: list[str] = list(dict.fromkeys(r.incident for r in rows))
    alerts: list[AlertIn] = []
    for incident in incidents:
        members = episode([a for a in after.values() if a.incident == incident])
        if not members:
            continue
        if len(members) == 1 and members[0].key == incident:
            finding = by_key.get(incident)
            if finding is not None:  # an alarm counting its quiet runs changes nothing on its card
                alerts.append(finding.to_alert())
            continue
        alerts.append(group_alert(incident, members, by_key, now))
    return alerts


def _rank(alarm: DetectorAlarm) -> tuple[int, int, datetime]:
    from bot.alerts.model import SEVERITIES

    severity = SEVERITIES.index(alarm.severity) if alarm.severity in SEVERITIES else len(SEVERITIES)
    return (alarm.status != "open", severity, alarm.first_seen)


def group_alert(incident: str, members: list[DetectorAlarm], by_key: dict[str, Finding], now: datetime) -> AlertIn:
    """One card for the incident: the most severe open cohort leads, every cohort has a line."""
    from bot.alerts.model import AlertIn, Evidence  # the alert pipeline's shape, needed only to deliver

    members = sorted(members, key=_rank)
    live = [m for m in members if m.status == "open"]
    lead_alarm = members[0]
    lead = by_key.get(lead_alarm.key)
    if lead is None or lead.status != "firing":
        lead = finding_of(lead_alarm)
    lines = []
    samples: list[str] = []
    for m in members:
        f = by_key.get(m.key) if m.key in by_key and by_key[m.key].status == "firing" else finding_of(m)
        cohort = ", ".join(f"{k}={v}" for k, v in sorted(f.cohort.items())) or "all traffic"
        lines.append(
            str(
                render(
                    "incident_member.md.j2",
                    cohort=cohort,
                    status=m.status,
                    quiet=m.clean_runs,
                    first_seen=m.first_seen,
                    severity=m.severity,
                    resolved_at=m.resolved_at or now,
                )
            ).strip()
        )
        samples += [s for s in f.sample_request_ids if s not in samples]
    more = len(members) - 1
    title = lead.title if not more else f"{lead.title} (+{more} more cohort{'s' if more > 1 else ''})"
    return AlertIn(
        source="afterlaunch",
        fingerprint=f"afterlaunch:{incident}",
        status="firing" if live else "resolved",
        title=title[:150],
        severity=lead_alarm.severity,  # type: ignore[arg-type]
        labels={**lead.alert_labels(), "incident": incident},
        starts_at=min(m.started_at for m in members),
        evidence=Evidence(
            summary=lead.summary,
            figures=lead.figures,
            cohort=lead.cohort,
            sample_request_ids=samples[:MAX_SAMPLES],
        ),
        members=lines,
    )
