"""Alert tables: one row per alert group (its living card), and one per storm digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


class Alert(SQLModel, table=True):
    """One alert group as the on-call sees it: source state, human state, paging and its card."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_channel_first_seen", "channel", "first_seen"),
        Index("ix_alerts_status_paged", "status", "paged_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=255, unique=True)
    source: str = Field(max_length=32)
    status: str = Field(max_length=16, description="firing or resolved")
    title: str = Field(sa_type=Text)
    severity: str = Field(max_length=16)
    tenant: str = Field(default="", max_length=128)
    labels: str = Field(default="{}", sa_type=Text, description="JSON object")
    annotations: str = Field(default="{}", sa_type=Text, description="JSON object")
    evidence: str | None = Field(default=None, sa_type=Text, description="JSON: afterlaunch's own measurements")
    members: str = Field(default="[]", sa_type=Text, description="JSON list: one line per alert of the group")
    generator_url: str | None = Field(default=None, sa_type=Text)
    dashboard_url: str | None = Field(default=None, sa_type=Text)
    silence_url: str | None = Field(default=None, sa_type=Text)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime)
    deliveries: int = Field(default=1)
    flips: str = Field(default="[]", sa_type=Text, description="JSON list of ISO times the status changed")
    flapping: bool = False
    channel: str = Field(max_length=80)
    digest_id: int | None = Field(default=None, description="set when a storm rolled this alert into a digest")
    card_posted: bool = False
    acked_by: str | None = Field(default=None, max_length=64)
    acked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=64, description="a person; None when the source")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    silenced_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    silenced_by: str | None = Field(default=None, max_length=64)
    paged_user: str | None = Field(default=None, max_length=64)
    paged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_to: str | None = Field(default=None, max_length=64)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pd_sent: str | None = Field(default=None, max_length=16, description="last PagerDuty action accepted")

    @property
    def card_key(self) -> str:
        """The outbox key of this card, so every change updates the same Slack message."""
        return f"alert:{self.id}"


class AlertDigest(SQLModel, table=True):
    """A storm rollup: one card that lists a channel's alerts beyond the per-minute threshold."""

    __tablename__ = "alert_digests"
    __table_args__ = (Index("ix_alert_digests_channel_opened", "channel", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=80)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def card_key(self) -> str:
        """The outbox key of this card, so every change updates the same Slack message."""
        return f"alert-digest:{self.id}"
