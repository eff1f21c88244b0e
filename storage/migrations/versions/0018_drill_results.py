"""Drills: the scorecard, one row per incident per drill.

Revision ID: 0018
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drill_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=16), nullable=False),
        sa.Column("incident", sa.String(length=16), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drill_results_incident_ran_at", "drill_results", ["incident", "ran_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_drill_results_incident_ran_at", table_name="drill_results")
    op.drop_table("drill_results")
