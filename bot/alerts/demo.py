"""The demo step: an Alertmanager alert arrives through the real webhook, then is acknowledged and resolved."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from bot.alerts import actions
from storage import outbox

if TYPE_CHECKING:
    from bot.demo.run import DemoContext

DEMO_USER = "U0DEMOONCALL"


def alertmanager_payload(now: datetime) -> dict[str, Any]:
    """What Alertmanager 0.25 sends for a two-instance group (shape captured from the real binary)."""
    labels = {"alertname": "LLMProviderErrors", "severity": "critical", "tenant": "acme"}
    annotations = {"summary": "Provider 5xx above 5%", "description": "OpenAI answers 5xx on 7% of requests"}
    starts = (now - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    alerts = [
        {
            "status": "firing",
            "labels": {**labels, "instance": f"gateway-{n}"},
            "annotations": annotations,
            "startsAt": starts,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=provider_5xx_ratio",
            "fingerprint": f"00b4973a2607{n:04d}",
        }
        for n in (1, 2)
    ]
    return {
        "receiver": "afterlaunch",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"alertname": "LLMProviderErrors", "tenant": "acme"},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="LLMProviderErrors", tenant="acme"}',
        "truncatedAlerts": 0,
    }


def _drain(ctx: DemoContext, timeout: float = 15.0) -> None:
    """Let the outbox sender print what is waiting (it paces posts to about one a second per channel)."""
    ctx.services.wake_outbox.set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with ctx.services.db.session() as session:
            if not any(m.status == "pending" for m in outbox.list_messages(session=session, limit=100)):
                return
        time.sleep(0.2)


def paged_alert(ctx: DemoContext) -> None:
    """An alert through POST /webhooks/alertmanager, its triage card, an acknowledge and a resolve."""
    token = ctx.settings.webhook_token.get_secret_value() if ctx.settings.webhook_token else ""
    click.echo("\n== A paged alert: Alertmanager → POST /webhooks/alertmanager → triage card ==")
    now = datetime.now(UTC)
    response = ctx.client.post(
        "/webhooks/alertmanager", json=alertmanager_payload(now), headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    [result] = response.json()["alerts"]
    click.echo(f"webhook answered {response.status_code}: {result['action']} card {result['card_key']}")
    again = ctx.client.post(
        "/webhooks/alertmanager", json=alertmanager_payload(now), headers={"Authorization": f"Bearer {token}"}
    ).json()["alerts"][0]
    click.echo(f"the same group sent again (repeat_interval): {again['action']} the same card {again['card_key']}")
    _drain(ctx)
    alert_id = int(result["card_key"].split(":", 1)[1])
    click.echo(f"\n{DEMO_USER} clicks Acknowledge:")
    actions.acknowledge(ctx.services, alert_id, DEMO_USER, datetime.now(UTC), forward=False)
    _drain(ctx)
    click.echo(f"\n{DEMO_USER} clicks Resolve:")
    actions.resolve(ctx.services, alert_id, DEMO_USER, datetime.now(UTC), forward=False)
    _drain(ctx)
    ctx.facts["alert_card"] = result["card_key"]
