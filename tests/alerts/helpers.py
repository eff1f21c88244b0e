"""Small builders for alert tests: alerts, config, and what the outbox holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bot.alerts.model import AlertIn, Evidence
from bot.config import FileConfig
from bot.services import Services
from storage import outbox

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def alert(
    key: str = "provider-5xx",
    *,
    status: str = "firing",
    severity: str = "critical",
    starts_at: datetime = T0,
    ends_at: datetime | None = None,
    labels: dict[str, str] | None = None,
    title: str = "OpenAI 5xx above 5%",
    source: str = "generic",
    **extra: Any,
) -> AlertIn:
    return AlertIn(
        source=source,
        fingerprint=f"{source}:{key}",
        status=status,  # type: ignore[arg-type]
        title=title,
        severity=severity,  # type: ignore[arg-type]
        labels={"alertname": "ProviderErrors", **(labels or {})},
        starts_at=starts_at,
        ends_at=ends_at,
        **extra,
    )


def detector_alert(key: str = "cost:acme", **kw: Any) -> AlertIn:
    return AlertIn(
        source="afterlaunch",
        fingerprint=f"afterlaunch:{key}",
        status="firing",
        title="Cost burn: acme is spending 6x its usual rate",
        severity="high",
        labels={"detector": "cost_burn", "cause": "noisy_tenant", "tenant": "acme", "intent": "billing"},
        starts_at=T0,
        evidence=Evidence(
            summary="acme spent $412 in the last hour against $70 usually",
            figures=[("last hour", "$412.10"), ("usual hour", "$68.90")],
            cohort={"tenant": "acme", "intent": "billing"},
            sample_request_ids=["req_a1", "req_b2", "req_c3"],
        ),
        **kw,
    )


def configure(services: Services, **sections: Any) -> None:
    services.settings.file = FileConfig.model_validate(sections)


ONCALL = {"users": ["U0PRIMARY", "U0SECOND1"], "handoff_day": "monday", "rotation_start": "2026-11-23"}


def messages(services: Services) -> list[dict[str, Any]]:
    with services.db.session() as session:
        found = outbox.list_messages(session=session, limit=500)
    return [
        {
            "kind": m.kind,
            "channel": m.channel,
            "card_key": m.card_key,
            "thread_key": m.thread_key,
            "user": m.user,
            "payload": orjson.loads(m.payload),
        }
        for m in found
        if m.kind != "home"
    ]


def text_of(message: dict[str, Any]) -> str:
    return orjson.dumps(message["payload"]).decode()


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)
