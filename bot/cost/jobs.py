"""The scheduled work of the cost capability that the kernel does not schedule by itself."""

from __future__ import annotations

from datetime import datetime

from bot.detectors import run_detectors
from bot.scheduler import Job
from bot.services import Services


def run_finance_gap(services: Services, now: datetime) -> None:
    """Every hour: import the providers' figures when keys are set, then compare with afterlaunch's cost."""
    from bot.cost.reconcile import import_configured

    import_configured(services, now)
    run_detectors(services, now, only=["finance_gap"])


JOBS = [Job(id="finance_gap", run=run_finance_gap, trigger="interval", trigger_args={"hours": 1})]
