"""Webhooks: Alertmanager, Grafana, PagerDuty and generic alerts arrive here and join the alert pipeline."""

from bot.capabilities import Capability
from bot.webhooks import views

CAPABILITY = Capability(name="webhooks", routes=views.routes)
