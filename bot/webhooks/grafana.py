"""Grafana alerting webhook contact point (unified alerting): one card per alert group."""

from __future__ import annotations

from dataclasses import replace

from bot.alerts.model import AlertIn
from bot.webhooks.common import ParseError, need_dict
from bot.webhooks.groups import parse_group

SOURCE = "grafana"


def parse(payload: object) -> list[AlertIn]:
    """One AlertIn per notification, with Grafana's own dashboard, panel and silence links."""
    body = need_dict(payload, "body")
    if "alerts" not in body and ("ruleName" in body or "evalMatches" in body):
        raise ParseError(
            "body", "is a legacy Grafana alert notification; use Grafana alerting with a webhook contact point"
        )
    alert = parse_group(body, source=SOURCE)
    first = next((a for a in body["alerts"] if isinstance(a, dict)), {})
    return [
        replace(
            alert,
            dashboard_url=alert.dashboard_url or first.get("panelURL") or first.get("dashboardURL") or None,
            silence_url=first.get("silenceURL") or None,
        )
    ]
