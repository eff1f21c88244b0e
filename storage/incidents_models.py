"""Incident tables: the incident, its timeline, the cards it gathers, and on-call state shared by replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


class Incident(SQLModel, table=True):
    """A declared incident: its channel, roles, status line and the moments the postmortem needs."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    severity: str = Field(max_length=8, description="sev1 | sev2 | sev3")
    status: str = Field(default="open", max_length=16, description="open | resolved")
    channel_name: str = Field(max_length=80, description="the name asked for; Slack may add a suffix")
    origin_channel: str = Field(default="", max_length=80, description="where it was declared")
    tenant: str = Field(default="", max_length=128, description="set when the origin card is one tenant's")
    runbook: str = Field(default="", max_length=200)
    status_line: str = Field(default="", sa_type=Text)
    commander: str | None = Field(default=None, max_length=64)
    communications: str | None = Field(default=None, max_length=64)
    declared_by: str = Field(max_length=64)
    declared_at: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime = Field(sa_type=UTCDateTime, description="the first card's start, else the declaration")
    last_update_at: datetime = Field(sa_type=UTCDateTime, description="the last status update (or declaration)")
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mitigated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=64)

    @property
    def channel_key(self) -> str:
        """The outbox key under which the created channel's id is stored."""
        return f"incident:{self.id}:channel"

    @property
    def card_key(self) -> str:
        """The outbox key of the incident card posted (and pinned) in its channel."""
        return f"incident:{self.id}:card"


class IncidentEvent(SQLModel, table=True):
    """One line of an incident's timeline; ``ref`` makes a repeated event (a re-sent reaction) count once."""

    __tablename__ = "incident_events"
    __table_args__ = (
        Index("ix_incident_events_incident_at", "incident_id", "at"),
        UniqueConstraint("incident_id", "ref", name="uq_incident_events_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id")
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=24)
    actor: str = Field(default="", max_length=64)
    text: str = Field(default="", sa_type=Text)
    ref: str | None = Field(default=None, max_length=200)


class IncidentAlert(SQLModel, table=True):
    """A card gathered into an incident (the card it was declared from, and any attached later)."""

    __tablename__ = "incident_alerts"

    incident_id: int = Field(foreign_key="incidents.id", primary_key=True)
    alert_id: int = Field(primary_key=True, index=True)
    added_at: datetime = Field(sa_type=UTCDateTime)


class OncallState(SQLModel, table=True):
    """Small shared state of the on-call jobs (calendar fetch, last handoff): in the database, never in memory."""

    __tablename__ = "oncall_state"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="{}", sa_type=Text, description="JSON")
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AlertEscalation(SQLModel, table=True):
    """How far an alert's page went through the escalation steps."""

    __tablename__ = "alert_escalations"

    alert_id: int = Field(primary_key=True)
    step: int = Field(default=0, description="steps done so far")
    updated_at: datetime = Field(sa_type=UTCDateTime)
