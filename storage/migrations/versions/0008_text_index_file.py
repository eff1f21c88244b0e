"""SQLite: the answers' text index moves out of the main file into its own (``storage.textindex``).

The FTS5 table, its vocabulary view and the triggers that filled it inside every ingest
transaction go; the indexer rebuilds the index in the new file from the stored bodies.
PostgreSQL keeps its GIN index and is not touched.

Revision ID: 0008
Revises: 0004
"""

from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("request_bodies_ai", "request_bodies_ad", "request_bodies_au"):
        op.execute(f"DROP TRIGGER IF EXISTS main.{trigger}")
    op.execute("DROP TABLE IF EXISTS main.request_fts_vocab")
    op.execute("DROP TABLE IF EXISTS main.request_fts")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE request_fts USING fts5("
        "response, content='request_bodies', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute("INSERT INTO request_fts(request_fts) VALUES ('rebuild')")
    op.execute(
        "CREATE TRIGGER request_bodies_ai AFTER INSERT ON request_bodies BEGIN "
        "INSERT INTO request_fts(rowid, response) VALUES (new.id, new.response); END"
    )
    op.execute(
        "CREATE TRIGGER request_bodies_ad AFTER DELETE ON request_bodies BEGIN "
        "INSERT INTO request_fts(request_fts, rowid, response) VALUES ('delete', old.id, old.response); END"
    )
    op.execute(
        "CREATE TRIGGER request_bodies_au AFTER UPDATE OF response ON request_bodies BEGIN "
        "INSERT INTO request_fts(request_fts, rowid, response) VALUES ('delete', old.id, old.response); "
        "INSERT INTO request_fts(rowid, response) VALUES (new.id, new.response); END"
    )
    op.execute("CREATE VIRTUAL TABLE IF NOT EXISTS request_fts_vocab USING fts5vocab('request_fts', 'row')")
