"""Refusals: the deciding rule per request, model snapshots per cohort, scan positions, open alarms.

Revision ID: 0006
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal_rule", sa.String(length=64), nullable=True))

    op.create_table(
        "model_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("system_fingerprint", sa.String(length=200), nullable=False),
        sa.Column("first_seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("first_request_id", sa.String(length=200), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("mismatched", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "tenant", "category", "provider", "model", "system_fingerprint", name="uq_model_snapshots_cohort"
        ),
    )
    with op.batch_alter_table("model_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_model_snapshots_first_seen", ["first_seen_ms"], unique=False)

    op.create_table(
        "refusal_scan_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "refusal_alarms",
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("finding_key", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("labels", sa.String(length=1000), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )


def downgrade() -> None:
    op.drop_table("refusal_alarms")
    op.drop_table("refusal_scan_state")
    with op.batch_alter_table("model_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_model_snapshots_first_seen")
    op.drop_table("model_snapshots")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_column("refusal_rule")
