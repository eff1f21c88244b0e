"""Tables of the refusal capability: model snapshots seen per cohort, scan positions, open alarms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


class ModelSnapshot(SQLModel, table=True):
    """One (provider, model, system_fingerprint) served to one cohort (tenant, category), and since when."""

    __tablename__ = "model_snapshots"
    __table_args__ = (
        UniqueConstraint(
            "tenant", "category", "provider", "model", "system_fingerprint", name="uq_model_snapshots_cohort"
        ),
        Index("ix_model_snapshots_first_seen", "first_seen_ms"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=128)
    category: str = Field(max_length=128)
    provider: str = Field(default="", max_length=100, description="'' when the event named none")
    model: str = Field(max_length=200, description="the served model")
    system_fingerprint: str = Field(default="", max_length=200, description="'' when the event named none")
    first_seen_ms: int = Field(sa_type=BigInteger, description="event time of the first request served by it")
    last_seen_ms: int = Field(sa_type=BigInteger)
    first_request_id: str = Field(max_length=200)
    requests: int = Field(default=0, sa_type=BigInteger)
    mismatched: int = Field(default=0, sa_type=BigInteger, description="requests whose model_requested differed")


class RefusalScanState(SQLModel, table=True):
    """How far a scanner has read the requests table (by id), so it resumes on any replica after a restart."""

    __tablename__ = "refusal_scan_state"

    name: str = Field(primary_key=True, max_length=64)
    last_id: int = Field(sa_type=BigInteger)
    updated_at: datetime = Field(sa_type=UTCDateTime)
