"""Alertmanager-shaped notifications (Alertmanager itself, Grafana alerting): one alert group each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.alerts.model import SEVERITIES, AlertIn, Severity
from bot.webhooks.common import ParseError, digest, need_dict, need_list, need_str, parse_time, severity_of, str_map

MAX_MEMBERS = 100
STATUSES = ("firing", "resolved")


@dataclass(frozen=True)
class Member:
    """One alert of a group, as the notification lists it."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    raw: dict[str, Any]


def parse_members(payload: dict[str, Any]) -> list[Member]:
    """Every alert of the notification, checked field by field."""
    alerts = need_list(payload.get("alerts"), "alerts")
    if not alerts:
        raise ParseError("alerts", "is empty; a notification carries at least one alert")
    members = []
    for i, item in enumerate(alerts):
        where = f"alerts[{i}]"
        alert = need_dict(item, where)
        status = alert.get("status")
        if status not in STATUSES:
            raise ParseError(f"{where}.status", f"must be 'firing' or 'resolved', not {status!r}")
        members.append(
            Member(
                status=status,
                labels=str_map(alert.get("labels"), f"{where}.labels"),
                annotations=str_map(alert.get("annotations"), f"{where}.annotations"),
                starts_at=parse_time(alert.get("startsAt"), f"{where}.startsAt"),  # type: ignore[arg-type]
                ends_at=parse_time(alert.get("endsAt"), f"{where}.endsAt", optional=True),
                generator_url=need_str(alert.get("generatorURL") or None, f"{where}.generatorURL", optional=True),
                raw=alert,
            )
        )
    return members


def group_status(payload: dict[str, Any], members: list[Member]) -> Literal["firing", "resolved"]:
    """Firing while any alert of the group fires."""
    status = payload.get("status")
    if status not in STATUSES:
        raise ParseError("status", f"must be 'firing' or 'resolved', not {status!r}")
    # A group fires while any of its alerts does, whatever the top-level field says.
    return "firing" if any(m.status == "firing" for m in members) else "resolved"


def group_severity(common: dict[str, str], members: list[Member]) -> Severity:
    """The group's severity label, else its most severe member's."""
    if "severity" in common:
        return severity_of(common["severity"])
    found = [severity_of(m.labels["severity"]) for m in members if "severity" in m.labels]
    return min(found, key=SEVERITIES.index) if found else severity_of(None)


def member_lines(common: dict[str, str], members: list[Member], truncated: int) -> list[str]:
    """What tells the group's alerts apart: their own labels, status and start."""
    lines = []
    for m in members[:MAX_MEMBERS]:
        own = ", ".join(f"{k}={v}" for k, v in sorted(m.labels.items()) if common.get(k) != v) or "(same labels)"
        lines.append(f"{m.status}: {own} since {m.starts_at:%Y-%m-%d %H:%M} UTC")
    hidden = max(0, len(members) - MAX_MEMBERS) + truncated
    if hidden:
        lines.append(f"… and {hidden} more alert(s) not listed")
    return lines


def parse_group(payload: object, *, source: str) -> AlertIn:
    """The whole notification as one alert group; its groupKey is what dedupes resends."""
    body = need_dict(payload, "body")
    group_key = need_str(body.get("groupKey"), "groupKey")
    members = parse_members(body)
    status = group_status(body, members)
    common_labels = str_map(body.get("commonLabels"), "commonLabels")
    common_annotations = str_map(body.get("commonAnnotations"), "commonAnnotations")
    group_labels = str_map(body.get("groupLabels"), "groupLabels")
    truncated = body.get("truncatedAlerts") or 0
    if not isinstance(truncated, int) or truncated < 0:
        raise ParseError("truncatedAlerts", f"must be a non-negative integer, not {truncated!r}")
    labels = {**group_labels, **common_labels}
    ends = [m.ends_at for m in members if m.ends_at is not None]
    title = (
        common_annotations.get("summary")
        or labels.get("alertname")
        or ", ".join(f"{k}={v}" for k, v in sorted(group_labels.items()))
        or f"{source} alert group"
    )
    return AlertIn(
        source=source,
        fingerprint=f"{source}:{digest(str(group_key))}",
        status=status,
        title=title,
        severity=group_severity(common_labels, members),
        labels=labels,
        annotations=common_annotations,
        starts_at=min(m.starts_at for m in members),
        ends_at=max(ends) if status == "resolved" and ends else None,
        generator_url=next((m.generator_url for m in members if m.generator_url), None),
        dashboard_url=common_annotations.get("dashboard") or common_annotations.get("dashboard_url"),
        members=member_lines(common_labels, members, truncated) if len(members) > 1 or truncated else [],
    )
