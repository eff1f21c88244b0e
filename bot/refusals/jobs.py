"""Scheduled work of the refusals capability (leader replica only)."""

from __future__ import annotations

from datetime import datetime

from bot.detectors import Finding, run_detectors
from bot.refusals import models_seen
from bot.scheduler import Job
from bot.services import Services


def run_refusal_detectors(services: Services, now: datetime) -> list[Finding]:
    """Record new model snapshots first (a shift's card names the one it follows), then test refusal rates."""
    models_seen.scan(services, now)
    return run_detectors(services, now, only=["refusal_shift"])


JOBS = [Job(id="refusal_detectors", run=run_refusal_detectors, trigger="interval", trigger_args={"minutes": 5})]
