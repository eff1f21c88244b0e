"""The incident capability's scheduled jobs (run on the elected leader)."""

from __future__ import annotations

from bot.incidents.service import remind_overdue
from bot.oncall import jobs as oncall_jobs
from bot.scheduler import Job

JOBS = [
    Job(id="incidents_remind", run=remind_overdue, trigger="interval", trigger_args={"minutes": 1}),
    *oncall_jobs.JOBS,
]
