"""Cost: budgets set from Slack with their audit, burn alarm state, provider cost imports.

Revision ID: 0005
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cost_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.String(length=1000), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("usd", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cohort", "period", name="uq_cost_budgets_cohort_period"),
    )
    op.create_table(
        "cost_budget_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("cohort", sa.String(length=1000), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("old_usd", sa.Float(), nullable=True),
        sa.Column("new_usd", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cost_budget_audit_at", "cost_budget_audit", ["at"], unique=False)
    op.create_table(
        "cost_alarms",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attributed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("attribution", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_cost_alarms_status", "cost_alarms", ["status"], unique=False)
    op.create_table(
        "cost_provider_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("usd", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "day", "model", name="uq_cost_provider_costs_day_model"),
    )


def downgrade() -> None:
    op.drop_table("cost_provider_costs")
    op.drop_index("ix_cost_alarms_status", table_name="cost_alarms")
    op.drop_table("cost_alarms")
    op.drop_index("ix_cost_budget_audit_at", table_name="cost_budget_audit")
    op.drop_table("cost_budget_audit")
    op.drop_table("cost_budgets")
