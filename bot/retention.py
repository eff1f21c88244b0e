"""Retention: bodies go after a month, aggregates after a year, in short transactions."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.scheduler import Job
from bot.services import Services
from storage import requests as request_store
from storage import rollups

log = logging.getLogger(__name__)


def _forget(services: Services, gone: list[tuple[int, str | None]]) -> None:
    """Purged answers leave the SQLite text index too (PostgreSQL's index follows its table).

    After the bodies' own commit: a crash in between leaves index entries whose body is
    gone, which the search skips (a candidate without a body scores nothing).
    """
    if gone and services.db.text_index is not None:
        services.db.text_index.forget(gone)


def purge_expired(services: Services, now: datetime) -> dict[str, int]:
    """Delete what is past its retention; returns how many rows of each kind went."""
    s = services.settings
    db = services.db
    counts = {"bodies": 0, "requests": 0, "rollup_minute": 0, "rollup_hour": 0}
    body_cutoff = int((now - timedelta(days=s.retention_body_days)).timestamp() * 1000)
    request_cutoff = int((now - timedelta(days=s.retention_days)).timestamp() * 1000)
    while True:  # chunks keep each write transaction short, so ingest is never blocked for long
        with db.write_session() as session:
            gone = request_store.purge_bodies(session=session, before_ms=body_cutoff)
        _forget(services, gone)
        counts["bodies"] += len(gone)
        if not gone:
            break
    while True:
        with db.write_session() as session:
            n, gone = request_store.purge_requests(session=session, before_ms=request_cutoff)
        _forget(services, gone)
        counts["requests"] += n
        if n == 0:
            break
    with db.write_session() as session:
        minute_cutoff = int((now - timedelta(days=s.retention_minute_rollup_days)).timestamp())
        counts["rollup_minute"] = rollups.purge(session=session, table=rollups.MINUTE, before=minute_cutoff)
        counts["rollup_hour"] = rollups.purge(session=session, table=rollups.HOUR, before=request_cutoff // 1000)
    if any(counts.values()):
        log.info("retention purge: %s", counts)
    return counts


JOBS = [Job(id="retention", run=purge_expired, trigger="interval", trigger_args={"minutes": 30})]
