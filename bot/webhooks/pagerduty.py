"""PagerDuty V3 webhooks: incident events keep a card (and its acknowledgement) in step with PagerDuty."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from bot.alerts.model import AlertIn, Severity
from bot.webhooks.common import ParseError, need_dict, need_str, parse_time

SOURCE = "pagerduty"
FIRING_EVENTS = frozenset({"incident.triggered", "incident.reopened", "incident.unacknowledged"})
HANDLED_EVENTS = FIRING_EVENTS | {"incident.acknowledged", "incident.resolved"}
PRIORITY_SEVERITY: dict[str, Severity] = {"P1": "critical", "P2": "high", "P3": "medium", "P4": "low", "P5": "info"}


def parse(payload: object) -> list[AlertIn]:
    """One AlertIn per incident event; other events (pings, notes, priority changes) yield nothing."""
    body = need_dict(payload, "body")
    event = need_dict(body.get("event"), "event")
    event_type = need_str(event.get("event_type"), "event.event_type")
    if event_type not in HANDLED_EVENTS:
        return []
    if event.get("resource_type") != "incident":
        raise ParseError(
            "event.resource_type", f"must be 'incident' for {event_type}, not {event.get('resource_type')!r}"
        )
    data = need_dict(event.get("data"), "event.data")
    incident_id = need_str(data.get("id"), "event.data.id")
    title = need_str(data.get("title"), "event.data.title")
    # An incident we raised through the Events API carries our dedup_key as its incident_key:
    # using it as the fingerprint lands PagerDuty's acknowledgement on our own card.
    key = data.get("incident_key")
    fingerprint = key if isinstance(key, str) and key else f"{SOURCE}:{incident_id}"
    agent = event.get("agent") if isinstance(event.get("agent"), dict) else {}
    service = data.get("service") if isinstance(data.get("service"), dict) else {}
    labels = {"pagerduty_incident": str(data.get("number") or incident_id)}
    if service.get("summary"):
        labels["service"] = str(service["summary"])
    acked_by = None
    if event_type == "incident.acknowledged":
        acked_by = str(agent.get("summary") or "someone") + " (PagerDuty)"
    return [
        AlertIn(
            source=SOURCE,
            fingerprint=fingerprint[:255],
            status="resolved" if event_type == "incident.resolved" else "firing",
            title=str(title),
            severity=_severity(data),
            labels=labels,
            starts_at=parse_time(data.get("created_at"), "event.data.created_at"),  # type: ignore[arg-type]
            ends_at=parse_time(event.get("occurred_at"), "event.occurred_at", optional=True)
            if event_type == "incident.resolved"
            else None,
            generator_url=data.get("html_url") if isinstance(data.get("html_url"), str) else None,
            acknowledged_by=acked_by,
        )
    ]


def _severity(data: dict[str, Any]) -> Severity:
    priority = data.get("priority")
    if isinstance(priority, dict) and priority.get("summary") in PRIORITY_SEVERITY:
        return PRIORITY_SEVERITY[priority["summary"]]
    return "high" if data.get("urgency") != "low" else "medium"


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Check ``X-PagerDuty-Signature`` (``v1=<hex HMAC-SHA256>``, several during a secret rotation)."""
    if not header:
        return False
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))
