"""Scheduled work of the evals capability: the weekly labelling batch and the late join of feedback and labels."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.evals.labelling import start_batch
from bot.services import Services
from storage import evals as store

log = logging.getLogger(__name__)


def sample_batch(services: Services, now: datetime) -> None:
    """Start this week's labelling batch (the cron is ``[evals].schedule``)."""
    batch, n = start_batch(services, now)
    log.info("evals batch #%s: %d item(s)", batch.id, n)


def join_late_signals(services: Services, now: datetime) -> int:
    """Give feedback and labels that arrived before their request the request's intent, once it is logged."""
    with services.db.write_session() as session:
        return store.join_pending(session=session)
