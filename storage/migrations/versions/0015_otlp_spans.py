"""OTLP ingestion: spans kept for joining retrievals to the model call they precede.

Revision ID: 0015
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0002"
branch_labels = None
depends_on = None


def _s(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "otlp_spans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", _s(128), nullable=False),
        sa.Column("trace_id", _s(32), nullable=False),
        sa.Column("span_id", _s(16), nullable=False),
        sa.Column("kind", _s(16), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("request_id", _s(200), nullable=True),
        sa.Column("docs", sa.Text(), nullable=True),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "trace_id", "span_id", name="uq_otlp_spans_span"),
    )
    op.create_index("ix_otlp_spans_trace", "otlp_spans", ["trace_id"])
    op.create_index("ix_otlp_spans_received", "otlp_spans", ["received_ms"])


def downgrade() -> None:
    op.drop_index("ix_otlp_spans_received", table_name="otlp_spans")
    op.drop_index("ix_otlp_spans_trace", table_name="otlp_spans")
    op.drop_table("otlp_spans")
