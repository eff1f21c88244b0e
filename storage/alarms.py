"""The detector kernel's alarm state: one row per finding key, for every detector."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Index, Text, func
from sqlmodel import Field, Session, SQLModel, select

from storage.models import UTCDateTime


class DetectorAlarm(SQLModel, table=True):
    """An alarm a detector's finding opened: updated while the finding returns, resolved after it stays away.

    ``finding`` keeps the last firing finding (JSON) so a resolution, a grouped card or
    ``detect`` can describe the alarm without asking the detector again; ``memo`` is the
    detector's own note (e.g. a cached attribution), handed back to it on later runs.
    """

    __tablename__ = "detector_alarms"
    __table_args__ = (
        Index("ix_detector_alarms_status_detector", "status", "detector"),
        Index("ix_detector_alarms_incident", "incident"),
    )

    key: str = Field(primary_key=True, max_length=255)
    detector: str = Field(max_length=64)
    incident: str = Field(max_length=255, description="findings sharing it share one card")
    status: str = Field(max_length=16, description="open or resolved")
    severity: str = Field(max_length=16, description="of the last firing finding")
    started_at: datetime = Field(sa_type=UTCDateTime, description="when the condition began, as its detector saw it")
    first_seen: datetime = Field(sa_type=UTCDateTime, description="the evaluation that opened the alarm")
    last_seen: datetime = Field(sa_type=UTCDateTime, description="the last evaluation that returned the finding")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clean_runs: int = Field(default=0, description="evaluations without the finding since last_seen")
    finding: str = Field(default="{}", sa_type=Text, description="JSON of the last firing finding")
    memo: str = Field(default="{}", sa_type=Text, description="JSON the detector asked to keep")


def list_open_alarms(*, session: Session, detectors: Iterable[str] | None = None) -> list[DetectorAlarm]:
    stmt = select(DetectorAlarm).where(DetectorAlarm.status == "open")
    if detectors is not None:
        stmt = stmt.where(DetectorAlarm.detector.in_(list(detectors)))  # type: ignore[attr-defined]
    return list(session.exec(stmt.order_by(DetectorAlarm.key)))


def list_incident_alarms(*, session: Session, incidents: Iterable[str]) -> list[DetectorAlarm]:
    """Every alarm (open or resolved) of these incidents, for the grouped card."""
    wanted = sorted(set(incidents))
    if not wanted:
        return []
    stmt = select(DetectorAlarm).where(DetectorAlarm.incident.in_(wanted))  # type: ignore[attr-defined]
    return list(session.exec(stmt.order_by(DetectorAlarm.key)))


def get_alarm(*, session: Session, key: str) -> DetectorAlarm | None:
    return session.get(DetectorAlarm, key)


def count_alarms(*, session: Session, status: str | None = None) -> int:
    stmt = select(func.count()).select_from(DetectorAlarm)
    if status is not None:
        stmt = stmt.where(DetectorAlarm.status == status)
    return int(session.exec(stmt).one())
