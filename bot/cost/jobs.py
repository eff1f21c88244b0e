"""The scheduled runs of the cost detectors."""

from __future__ import annotations

from datetime import datetime

from bot.detectors import run_detectors
from bot.scheduler import Job
from bot.services import Services


def run_cost_burn(services: Services, now: datetime) -> None:
    """Every minute: burn-rate alarms reach the alert pipeline."""
    run_detectors(services, now, only=["cost_burn"])


def run_finance_gap(services: Services, now: datetime) -> None:
    """Every hour: import the providers' figures when keys are set, then compare with afterlaunch's cost."""
    from bot.cost.reconcile import import_configured

    import_configured(services, now)
    run_detectors(services, now, only=["finance_gap"])


JOBS = [
    Job(id="cost_burn", run=run_cost_burn, trigger="interval", trigger_args={"minutes": 1}),
    Job(id="finance_gap", run=run_finance_gap, trigger="interval", trigger_args={"hours": 1}),
]
