"""Triage: a vocabulary view over the SQLite text index, so matching can pick the rarest phrases.

``request_fts_vocab`` (fts5vocab, 'row') answers "in how many responses does this word occur"
from the FTS5 index itself, so it never lags ingestion. PostgreSQL keeps the GIN index of 0001.

Revision ID: 0004
Revises: 0002
"""

from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE IF NOT EXISTS request_fts_vocab USING fts5vocab('request_fts', 'row')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS request_fts_vocab")
