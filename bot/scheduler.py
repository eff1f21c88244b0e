"""Scheduled jobs: registered in code on an in-memory job store per process, and run
only by the replica that holds the leader lock, so each job runs once per tick
however many replicas there are."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from bot import metrics
from bot.services import Services

log = logging.getLogger(__name__)

LEADER_LOCK = "hashtext(current_database() || '.' || current_schema() || '.afterlaunch-leader')"
"""The advisory lock that elects the replica running scheduled jobs. Advisory locks are
database-wide, so the key includes the schema: two deployments on one database never
block each other."""


class Leadership:
    """Am I the replica that runs the jobs? PostgreSQL: a session advisory lock held on a
    dedicated connection (released by the server if this process dies). SQLite: an
    exclusive file lock beside the database, for several processes on one file."""

    def __init__(self, services: Services) -> None:
        self._db = services.db
        self._conn: Connection | None = None
        self._file: Any = None
        self._lock = threading.Lock()
        self.identity = uuid.uuid4().hex[:8]

    def is_leader(self) -> bool:
        with self._lock:
            if self._db.is_sqlite:
                return self._file_lock()
            return self._pg_lock()

    def _file_lock(self) -> bool:
        if self._file is not None:
            return True
        database = make_url(self._db.url).database
        if not database or database == ":memory:":
            return True
        handle = Path(database + ".scheduler.lock").open("a")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def _pg_lock(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # the connection died, and the lock with it
                log.warning("lost the scheduler leader connection; standing for election again")
                self.release()
        conn = self._db.engine.connect()
        try:
            got = conn.execute(text(f"SELECT pg_try_advisory_lock({LEADER_LOCK})")).scalar()
            conn.commit()
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
            log.info("this replica (%s) now runs the scheduled jobs", self.identity)
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text(f"SELECT pg_advisory_unlock({LEADER_LOCK})"))
                self._conn.commit()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(frozen=True)
class Job:
    """A scheduled unit of work: ``run(services, now)``; each run opens its own sessions."""

    id: str
    run: Callable[[Services, datetime], Any]
    trigger: str
    trigger_args: dict[str, Any]


def run_job(job: Job, services: Services, leadership: Leadership, now: datetime | None = None) -> bool:
    """Run once if this replica leads; an error is logged with an id and never stops the scheduler."""
    if not leadership.is_leader():
        return False
    now = now or datetime.now(UTC)
    try:
        job.run(services, now)
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("scheduled job %s failed (ref %s)", job.id, ref)
        metrics.JOB_RUNS.labels(job.id, "error").inc()
        return False
    metrics.JOB_RUNS.labels(job.id, "ok").inc()
    return True


def build_scheduler(services: Services, jobs: list[Job], leadership: Leadership) -> BackgroundScheduler:
    """A scheduler with its own in-memory job store: job stores are never shared between replicas."""
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone=UTC,
    )
    for job in jobs:
        scheduler.add_job(
            run_job,
            job.trigger,
            args=(job, services, leadership),
            id=job.id,
            replace_existing=True,
            **job.trigger_args,
        )
    return scheduler
