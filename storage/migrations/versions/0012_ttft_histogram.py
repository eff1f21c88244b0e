"""Latency: a time-to-first-token histogram beside the latency one in both rollup tables.

Revision ID: 0012
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("rollup_minute", "rollup_hour"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("ttft_hist", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    for table in ("rollup_minute", "rollup_hour"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("ttft_hist")
