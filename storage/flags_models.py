"""Kill-switch tables: flags, their active kills (rules), the deployment-wide version and the audit log.

A flag is on unless a rule matches the evaluation context; a rule with every
dimension empty is a kill everywhere. ``flag_audit`` is append-only: the ORM
refuses updates and deletes here, and database triggers (migration 0007) refuse
them for any other writer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime

SCOPE_DIMENSIONS = ("tenant", "intent", "prompt_version", "model", "api_key_id")
"""What a kill can be scoped by: evaluation-context attributes that are also rollup cohort dimensions."""


class Flag(SQLModel, table=True):
    __tablename__ = "flags"

    key: str = Field(primary_key=True, max_length=100)
    description: str = Field(default="", sa_type=Text)
    owner: str = Field(default="", max_length=64)
    source: str = Field(default="config", max_length=16, description="config | slack")
    require_second_approver: bool = False
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class FlagRule(SQLModel, table=True):
    """One active kill of a flag; '' in a dimension means any value."""

    __tablename__ = "flag_rules"
    __table_args__ = (
        UniqueConstraint("flag_key", "tenant", "intent", "prompt_version", "model", "api_key_id", name="uq_flag_rule"),
    )

    id: int | None = Field(default=None, primary_key=True)
    flag_key: str = Field(foreign_key="flags.key", max_length=100, index=True)
    tenant: str = Field(default="", max_length=128)
    intent: str = Field(default="", max_length=128)
    prompt_version: str = Field(default="", max_length=128)
    model: str = Field(default="", max_length=128)
    api_key_id: str = Field(default="", max_length=128)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)

    def scope(self) -> dict[str, str]:
        return {d: getattr(self, d) for d in SCOPE_DIMENSIONS if getattr(self, d)}


class FlagVersion(SQLModel, table=True):
    """One row per deployment: bumped by every toggle, so every replica can tell its cache is stale."""

    __tablename__ = "flag_versions"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class FlagAudit(SQLModel, table=True):
    """Who changed (or tried to change) which flag, when, from what to what, why and from where."""

    __tablename__ = "flag_audit"
    __table_args__ = (Index("ix_flag_audit_flag_at", "flag_key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    flag_key: str = Field(max_length=100)
    action: str = Field(max_length=16, description="kill | restore | create | approve")
    outcome: str = Field(max_length=16, description="done | refused | pending")
    actor: str = Field(max_length=64, description="Slack user id, or 'afterlaunch' for auto-trips")
    approver: str = Field(default="", max_length=64)
    from_state: str = Field(default="", sa_type=Text)
    to_state: str = Field(default="", sa_type=Text)
    scope: str = Field(default="{}", sa_type=Text, description="JSON object of the kill's scope")
    reason: str = Field(default="", sa_type=Text)
    source: str = Field(default="slack", max_length=16, description="slack | card | alert | cli | demo")
    channel: str = Field(default="", max_length=64)
    card_key: str = Field(default="", max_length=255)
    detail: str = Field(default="", sa_type=Text)


class FlagRequest(SQLModel, table=True):
    """A global change waiting for a second person (the two-person rule)."""

    __tablename__ = "flag_requests"

    id: int | None = Field(default=None, primary_key=True)
    flag_key: str = Field(foreign_key="flags.key", max_length=100)
    action: str = Field(max_length=16)
    scope: str = Field(default="{}", sa_type=Text)
    reason: str = Field(sa_type=Text)
    requested_by: str = Field(max_length=64)
    channel: str = Field(default="", max_length=64)
    card_key: str = Field(default="", max_length=255)
    status: str = Field(default="pending", max_length=16, description="pending | approved | refused | expired")
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str = Field(default="", max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditIsAppendOnly(RuntimeError):
    """Raised on any attempt to change or remove an audit row through the ORM."""


def _refuse(_mapper: Any, _connection: Any, _target: Any) -> None:
    raise AuditIsAppendOnly("flag_audit rows cannot be changed or removed")


event.listen(FlagAudit, "before_update", _refuse)
event.listen(FlagAudit, "before_delete", _refuse)
