"""Incidents: the incident, its timeline and cards, on-call state shared by replicas, escalation progress.

Revision ID: 0016
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision = "0016"
down_revision = "0002"
branch_labels = None
depends_on = None


def _s(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _dt() -> storage.models.UTCDateTime:
    return storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", _s(200), nullable=False),
        sa.Column("severity", _s(8), nullable=False),
        sa.Column("status", _s(16), nullable=False),
        sa.Column("channel_name", _s(80), nullable=False),
        sa.Column("origin_channel", _s(80), nullable=False),
        sa.Column("tenant", _s(128), nullable=False),
        sa.Column("runbook", _s(200), nullable=False),
        sa.Column("status_line", sa.Text(), nullable=False),
        sa.Column("commander", _s(64), nullable=True),
        sa.Column("communications", _s(64), nullable=True),
        sa.Column("declared_by", _s(64), nullable=False),
        sa.Column("declared_at", _dt(), nullable=False),
        sa.Column("started_at", _dt(), nullable=False),
        sa.Column("last_update_at", _dt(), nullable=False),
        sa.Column("reminded_at", _dt(), nullable=True),
        sa.Column("mitigated_at", _dt(), nullable=True),
        sa.Column("resolved_at", _dt(), nullable=True),
        sa.Column("resolved_by", _s(64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"], unique=False)
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", _dt(), nullable=False),
        sa.Column("kind", _s(24), nullable=False),
        sa.Column("actor", _s(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ref", _s(200), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "ref", name="uq_incident_events_ref"),
    )
    op.create_index("ix_incident_events_incident_at", "incident_events", ["incident_id", "at"], unique=False)
    op.create_table(
        "incident_alerts",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("added_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("incident_id", "alert_id"),
    )
    op.create_index("ix_incident_alerts_alert_id", "incident_alerts", ["alert_id"], unique=False)
    op.create_table(
        "oncall_state",
        sa.Column("key", _s(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "alert_escalations",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("updated_at", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id"),
    )


def downgrade() -> None:
    op.drop_table("alert_escalations")
    op.drop_table("oncall_state")
    op.drop_index("ix_incident_alerts_alert_id", table_name="incident_alerts")
    op.drop_table("incident_alerts")
    op.drop_index("ix_incident_events_incident_at", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.drop_table("incidents")
