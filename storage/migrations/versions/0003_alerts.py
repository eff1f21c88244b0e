"""Alerts: one row per alert group (its living card) and the storm digests.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alert_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=80), nullable=False),
        _when("opened_at", False),
        _when("updated_at", False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_digests", schema=None) as batch_op:
        batch_op.create_index("ix_alert_digests_channel_opened", ["channel", "opened_at"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("annotations", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("generator_url", sa.Text(), nullable=True),
        sa.Column("dashboard_url", sa.Text(), nullable=True),
        sa.Column("silence_url", sa.Text(), nullable=True),
        _when("starts_at", False),
        _when("ends_at"),
        _when("first_seen", False),
        _when("last_seen", False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("flips", sa.Text(), nullable=False),
        sa.Column("flapping", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("card_posted", sa.Boolean(), nullable=False),
        sa.Column("acked_by", sa.String(length=64), nullable=True),
        _when("acked_at"),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        _when("resolved_at"),
        _when("silenced_until"),
        sa.Column("silenced_by", sa.String(length=64), nullable=True),
        sa.Column("paged_user", sa.String(length=64), nullable=True),
        _when("paged_at"),
        sa.Column("escalated_to", sa.String(length=64), nullable=True),
        _when("escalated_at"),
        sa.Column("pd_sent", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_channel_first_seen", ["channel", "first_seen"], unique=False)
        batch_op.create_index("ix_alerts_status_paged", ["status", "paged_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_status_paged")
        batch_op.drop_index("ix_alerts_channel_first_seen")
    op.drop_table("alerts")
    with op.batch_alter_table("alert_digests", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_digests_channel_opened")
    op.drop_table("alert_digests")
