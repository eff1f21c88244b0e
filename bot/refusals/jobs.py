"""Scheduled runs of the refusal detectors (leader replica only), through the shared detector runner."""

from __future__ import annotations

from datetime import datetime

from bot.detectors import Finding, run_detectors
from bot.scheduler import Job
from bot.services import Services


def run_refusal_detectors(services: Services, now: datetime) -> list[Finding]:
    """Record new model snapshots first, then test refusal rates, and hand findings to the alert pipeline."""
    return run_detectors(services, now, only=["model_change", "refusal_shift"])


JOBS = [Job(id="refusal_detectors", run=run_refusal_detectors, trigger="interval", trigger_args={"minutes": 5})]
