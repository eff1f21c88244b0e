"""Prometheus Alertmanager webhook notifications (payload version 4): one card per alert group."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from bot.alerts.model import AlertIn
from bot.webhooks.common import ParseError, need_dict, need_str
from bot.webhooks.groups import parse_group

SOURCE = "alertmanager"


def parse(payload: object) -> list[AlertIn]:
    """One AlertIn per notification: resends and an HA pair's duplicates share its groupKey fingerprint."""
    body = need_dict(payload, "body")
    version = body.get("version")
    if version != "4":
        raise ParseError("version", f"must be '4' (Alertmanager webhook payload version 4), not {version!r}")
    alert = parse_group(body, source=SOURCE)
    external = need_str(body.get("externalURL") or None, "externalURL", optional=True)
    silence = None
    if external:
        matchers = ",".join(f'{k}="{v}"' for k, v in sorted((body.get("groupLabels") or {}).items()))
        silence = f"{external.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}')}"
    return [replace(alert, silence_url=silence)]
