"""Scheduled work of the evals capability: the labelling batch on ``[evals].schedule`` and the late join.

The batch job runs every few minutes and starts a batch when the cron has fired since the last
batch: the schedule lives in the settings (not in the job list), and a replica that was down at
the cron's moment catches up at its next run instead of skipping a week.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.evals.labelling import start_batch
from bot.scheduler import Job
from bot.services import Services
from storage import evals as store

log = logging.getLogger(__name__)

FIRST_RUN_GRACE = timedelta(hours=1)
"""With no batch yet, only a cron moment this recent starts one (installing is not a reason to sample)."""


def last_due(schedule: str, since: datetime, now: datetime) -> datetime | None:
    """The latest moment in (since, now] at which the cron fires, or None."""
    trigger = CronTrigger.from_crontab(schedule, timezone=UTC)
    due, moment = None, trigger.get_next_fire_time(None, since + timedelta(seconds=1))
    while moment is not None and moment <= now:
        due = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return due


def sample_if_due(services: Services, now: datetime) -> bool:
    """Start a labelling batch when ``[evals].schedule`` has fired since the last batch."""
    with services.db.session() as session:
        last = store.get_last_batch_time(session=session)
    since = max(last or now - FIRST_RUN_GRACE, now - timedelta(days=8))
    if last_due(services.settings.file.evals.schedule, since, now) is None:
        return False
    batch, n = start_batch(services, now)
    log.info("evals batch #%s: %d item(s)", batch.id, n)
    return True


def join_late_signals(services: Services, now: datetime) -> int:
    """Give feedback and labels that arrived before their request the request's intent, once it is logged."""
    with services.db.write_session() as session:
        return store.join_pending(session=session)


JOBS = [
    Job(id="evals_sample", run=sample_if_due, trigger="interval", trigger_args={"minutes": 5}),
    Job(id="evals_join", run=join_late_signals, trigger="interval", trigger_args={"minutes": 5}),
]
