"""The drill scorecard: one row per incident per drill, so a regression since the last drill shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, Session, SQLModel, select

from storage.models import UTCDateTime


class DrillResult(SQLModel, table=True):
    """One incident's score in one drill; ``result`` is the JSON ``drill --json`` printed for it."""

    __tablename__ = "drill_results"
    __table_args__ = (Index("ix_drill_results_incident_ran_at", "incident", "ran_at"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=16)
    incident: str = Field(max_length=16)
    ran_at: datetime = Field(sa_type=UTCDateTime)
    passed: bool
    result: str = Field(sa_type=Text)


def add_results(*, session: Session, rows: list[DrillResult]) -> None:
    for row in rows:
        session.add(row)


def latest_per_incident(*, session: Session, per_incident: int = 2) -> dict[str, list[DrillResult]]:
    """The last ``per_incident`` results of each incident, newest first."""
    rows = session.exec(select(DrillResult).order_by(DrillResult.ran_at.desc(), DrillResult.id.desc())).all()  # type: ignore[attr-defined,union-attr]
    found: dict[str, list[DrillResult]] = {}
    for row in rows:
        kept = found.setdefault(row.incident, [])
        if len(kept) < per_incident:
            kept.append(row)
    return found
