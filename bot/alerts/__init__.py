"""Alerts: paged and own alerts become triage cards with runbook steps, routed, escalated and synced with PagerDuty."""

from bot.alerts import cli, demo, escalation, home, slack
from bot.alerts.config import OncallConfig, RoutingConfig, WebhooksConfig
from bot.capabilities import Capability

CAPABILITY = Capability(
    name="alerts",
    jobs=escalation.JOBS,
    listeners=[slack.register],
    home_sections=[home.open_alerts],
    cli=[cli.runbooks],
    demo=[demo.paged_alert],
    config={"routing": RoutingConfig, "oncall": OncallConfig, "webhooks": WebhooksConfig},
)
