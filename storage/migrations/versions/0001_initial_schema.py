"""Initial schema: keys, requests and their bodies, rollups, outbox.

The text index over responses is SQLite FTS5 (kept in step by triggers) or a
PostgreSQL GIN index; ``hist_merge`` adds two latency histograms inside an upsert.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


SQLITE_TEXT_INDEX = [
    "CREATE VIRTUAL TABLE request_fts USING fts5("
    "response, content='request_bodies', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER request_bodies_ai AFTER INSERT ON request_bodies BEGIN "
    "INSERT INTO request_fts(rowid, response) VALUES (new.id, new.response); END",
    "CREATE TRIGGER request_bodies_ad AFTER DELETE ON request_bodies BEGIN "
    "INSERT INTO request_fts(request_fts, rowid, response) VALUES ('delete', old.id, old.response); END",
    "CREATE TRIGGER request_bodies_au AFTER UPDATE OF response ON request_bodies BEGIN "
    "INSERT INTO request_fts(request_fts, rowid, response) VALUES ('delete', old.id, old.response); "
    "INSERT INTO request_fts(rowid, response) VALUES (new.id, new.response); END",
]

POSTGRES_EXTRAS = [
    "CREATE INDEX ix_request_bodies_response_fts ON request_bodies "
    "USING gin (to_tsvector('simple', coalesce(response, '')))",
    """CREATE OR REPLACE FUNCTION hist_merge(a text, b text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT coalesce(jsonb_object_agg(k, n)::text, '{}') FROM (
        SELECT k, sum(v::bigint) AS n
        FROM (
          SELECT * FROM jsonb_each_text(coalesce(nullif(a, ''), '{}')::jsonb)
          UNION ALL
          SELECT * FROM jsonb_each_text(coalesce(nullif(b, ''), '{}')::jsonb)
        ) AS parts(k, v)
        GROUP BY k
      ) AS merged
    $$""",
]


COHORT = ("tenant", "intent", "category", "path", "prompt_version", "model", "api_key_id")


def _rollup_columns() -> list:
    """The minute and hour rollups share one shape (fresh objects per table, as SQLAlchemy requires)."""
    long_names = {"model", "api_key_id"}
    counters = ("requests", "input_tokens", "output_tokens", "cached_tokens")
    small = ("unknown_cost", "errors", "timeouts", "refusals", "retries")
    return [
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        *(sa.Column(c, sa.String(length=200 if c in long_names else 128), nullable=False) for c in COHORT),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in counters),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in small),
        sa.Column("latency_count", sa.Integer(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_hist", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ]


def upgrade() -> None:
    op.create_table(
        "ingest_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=True),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=True),
        sa.Column("card_key", sa.String(length=255), nullable=True),
        sa.Column("thread_key", sa.String(length=255), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_card_key"), ["card_key"], unique=False)
        batch_op.create_index("ix_outbox_status_next", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=200), nullable=True),
        sa.Column("trace_id", sa.String(length=200), nullable=True),
        sa.Column("user_hash", sa.String(length=64), nullable=True),
        sa.Column("prompt_version", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("model_requested", sa.String(length=200), nullable=True),
        sa.Column("provider", sa.String(length=100), nullable=True),
        sa.Column("system_fingerprint", sa.String(length=200), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("cost_source", sa.String(length=16), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("finish_reason", sa.String(length=64), nullable=True),
        sa.Column("refused", sa.Boolean(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("parent_request_id", sa.String(length=200), nullable=True),
        sa.Column("agent_step", sa.Integer(), nullable=True),
        sa.Column("api_key_id", sa.String(length=200), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("labels", sa.Text(), nullable=True),
        sa.Column("ingest_key_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "tenant", name="uq_requests_request_id_tenant"),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_tenant_ts", ["tenant", "ts_ms"], unique=False)
        batch_op.create_index("ix_requests_ts", ["ts_ms"], unique=False)

    for name in ("rollup_hour", "rollup_minute"):
        op.create_table(name, *_rollup_columns(), sa.UniqueConstraint("bucket", *COHORT, name=f"uq_{name}_cohort"))
    op.create_table(
        "request_bodies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["id"], ["requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request_bodies", schema=None) as batch_op:
        batch_op.create_index("ix_request_bodies_ts", ["ts_ms"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TEXT_INDEX:
            op.execute(statement)
    else:
        for statement in POSTGRES_EXTRAS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS request_fts")
    else:
        op.execute("DROP FUNCTION IF EXISTS hist_merge(text, text)")
    with op.batch_alter_table("request_bodies", schema=None) as batch_op:
        batch_op.drop_index("ix_request_bodies_ts")

    op.drop_table("request_bodies")
    op.drop_table("rollup_minute")
    op.drop_table("rollup_hour")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_ts")
        batch_op.drop_index("ix_requests_tenant_ts")

    op.drop_table("requests")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next")
        batch_op.drop_index(batch_op.f("ix_outbox_card_key"))

    op.drop_table("outbox")
    op.drop_table("ingest_keys")
