"""PostgreSQL: a trigram index of the answers, for scripts written without spaces and for verbatim quotes.

The word index (``to_tsvector('simple', ...)``) sees a whole sentence of Chinese, Japanese or Thai as
one word, so no fragment of it can be found, and it cuts ``909.02`` or ``für`` its own way, so a short
quote whose first and last words are cut in the middle finds nothing. ``pg_trgm`` indexes every
three-character substring of the folded answer, so ``LIKE '%fragment%'`` is an index lookup in any
script. SQLite's text index file is rebuilt with character pairs by ``storage.textindex`` itself.

Revision ID: 0017
Revises: 0004
"""

from alembic import op

from storage.texttokens import pg_folded

revision = "0017"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # In public, not the current schema: an extension belongs to the database, and a schema dropped
    # with CASCADE would take it from every other schema's index. pg_trgm is a trusted extension.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_bodies_response_trgm ON request_bodies "
        f"USING gin (({pg_folded('response')}) public.gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_request_bodies_response_trgm")
