"""MTTA and MTTR over the last 7 and 30 days, per severity and per source: for /alerts and /metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.services import Services
from storage.alerts_models import Alert

log = logging.getLogger(__name__)

WINDOWS = {"7d": timedelta(days=7), "30d": timedelta(days=30)}
SCRAPE_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Mean:
    """A mean duration in seconds over ``count`` alerts."""

    seconds: float
    count: int


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def means(session: Session, now: datetime, window: timedelta, by: str) -> dict[str, tuple[Mean, Mean]]:
    """key (a severity or a source) -> (MTTA, MTTR) for alerts that started in the window."""
    dim = col(Alert.severity) if by == "severity" else col(Alert.source)
    since = col(Alert.starts_at) >= now - window
    ended = func.coalesce(Alert.resolved_at, Alert.ends_at)
    acks = session.exec(
        select(dim, func.avg(_seconds(session, Alert.acked_at, Alert.starts_at)), func.count())
        .where(since, col(Alert.acked_at).is_not(None))
        .group_by(dim)
    ).all()
    fixes = session.exec(
        select(dim, func.avg(_seconds(session, ended, Alert.starts_at)), func.count())
        .where(since, Alert.status == "resolved", ended.is_not(None))
        .group_by(dim)
    ).all()
    out: dict[str, tuple[Mean, Mean]] = {}
    for key, avg, n in acks:
        out[key] = (Mean(round(max(float(avg or 0), 0.0), 3), int(n)), Mean(0.0, 0))
    for key, avg, n in fixes:
        mtta = out.get(key, (Mean(0.0, 0), Mean(0.0, 0)))[0]
        out[key] = (mtta, Mean(round(max(float(avg or 0), 0.0), 3), int(n)))
    return out


def table(services: Services, now: datetime) -> dict[str, dict[str, dict[str, tuple[Mean, Mean]]]]:
    """window -> by (severity|source) -> key -> (MTTA, MTTR)."""
    with services.db.session() as session:
        return {w: {by: means(session, now, span, by) for by in ("severity", "source")} for w, span in WINDOWS.items()}


class MttCollector:
    """Prometheus gauges computed on scrape (cached a minute), so every replica's /metrics agrees with the database."""

    def __init__(self, services: Services, clock: Callable[[], datetime] | None = None) -> None:
        self.services = services
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._cached: tuple[float, Any] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > SCRAPE_CACHE_SECONDS:
                try:
                    self._cached = (time.monotonic(), table(self.services, self.clock()))
                except Exception:  # a scrape must never fail because of one figure
                    log.exception("could not compute MTTA/MTTR for /metrics")
                    self._cached = (time.monotonic(), {})
            data = self._cached[1]
        labels = ["window", "by", "key"]
        mtta = GaugeMetricFamily("afterlaunch_alert_mtta_seconds", "Mean time to acknowledge", labels=labels)
        mttr = GaugeMetricFamily("afterlaunch_alert_mttr_seconds", "Mean time to resolve", labels=labels)
        for window, groups in data.items():
            for by, rows in groups.items():
                for key, (ack, fix) in rows.items():
                    if ack.count:
                        mtta.add_metric([window, by, key], ack.seconds)
                    if fix.count:
                        mttr.add_metric([window, by, key], fix.seconds)
        yield mtta
        yield mttr

    def forget(self) -> None:
        """Drop the cached figures (the collector now reads another deployment)."""
        with self._lock:
            self._cached = None

    def describe(self) -> list[Any]:
        return []
