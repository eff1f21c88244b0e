"""Leaks: canaries (hashed), document days and owners learned from traffic, scan hits, a fingerprint version.

Revision ID: 0014
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leak_canaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("canary_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("canary_hash"),
    )
    op.create_table(
        "leak_doc_days",
        sa.Column("doc_id", sa.String(length=200), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("doc_id", "tenant", "day"),
    )
    op.create_table(
        "leak_doc_owners",
        sa.Column("doc_id", sa.String(length=200), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("doc_id"),
    )
    op.create_table(
        "leak_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("source_tenant", sa.String(length=128), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("span", sa.String(length=300), nullable=False),
        sa.Column("path", sa.String(length=128), nullable=False),
        sa.Column("prompt_version", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("leak_hits", schema=None) as batch_op:
        batch_op.create_index("ix_leak_hits_received", ["received_ms"], unique=False)
    op.create_table(
        "leak_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(sa.table("leak_state", sa.column("id"), sa.column("version")), [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("leak_state")
    with op.batch_alter_table("leak_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_leak_hits_received")
    op.drop_table("leak_hits")
    op.drop_table("leak_doc_owners")
    op.drop_table("leak_doc_days")
    op.drop_table("leak_canaries")
