"""Kill switches: flags, active kills, the deployment version, pending two-person requests, append-only audit.

Revision ID: 0007
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None

_MESSAGE = "flag_audit is append-only: rows cannot be updated or deleted"


def _s(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _dt() -> storage.models.UTCDateTime:
    return storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "flags",
        sa.Column("key", _s(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", _s(64), nullable=False),
        sa.Column("source", _s(16), nullable=False),
        sa.Column("require_second_approver", sa.Boolean(), nullable=False),
        sa.Column("created_by", _s(64), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.Column("updated_at", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "flag_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "flag_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _dt(), nullable=False),
        sa.Column("flag_key", _s(100), nullable=False),
        sa.Column("action", _s(16), nullable=False),
        sa.Column("outcome", _s(16), nullable=False),
        sa.Column("actor", _s(64), nullable=False),
        sa.Column("approver", _s(64), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=False),
        sa.Column("to_state", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", _s(16), nullable=False),
        sa.Column("channel", _s(64), nullable=False),
        sa.Column("card_key", _s(255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flag_audit", schema=None) as batch_op:
        batch_op.create_index("ix_flag_audit_flag_at", ["flag_key", "at"], unique=False)
    op.create_table(
        "flag_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_key", _s(100), nullable=False),
        sa.Column("action", _s(16), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", _s(64), nullable=False),
        sa.Column("channel", _s(64), nullable=False),
        sa.Column("card_key", _s(255), nullable=False),
        sa.Column("status", _s(16), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.Column("decided_by", _s(64), nullable=False),
        sa.Column("decided_at", _dt(), nullable=True),
        sa.ForeignKeyConstraint(["flag_key"], ["flags.key"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "flag_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_key", _s(100), nullable=False),
        sa.Column("tenant", _s(128), nullable=False),
        sa.Column("intent", _s(128), nullable=False),
        sa.Column("prompt_version", _s(128), nullable=False),
        sa.Column("model", _s(128), nullable=False),
        sa.Column("api_key_id", _s(128), nullable=False),
        sa.Column("created_by", _s(64), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["flag_key"], ["flags.key"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "flag_key", "tenant", "intent", "prompt_version", "model", "api_key_id", name="uq_flag_rule"
        ),
    )
    with op.batch_alter_table("flag_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_rules_flag_key"), ["flag_key"], unique=False)

    # The audit log refuses UPDATE and DELETE from any writer, not only from afterlaunch's code.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION flag_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_MESSAGE}'; END; $$"
        )
        op.execute(
            "CREATE TRIGGER flag_audit_append_only BEFORE UPDATE OR DELETE ON flag_audit "
            "FOR EACH ROW EXECUTE FUNCTION flag_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER flag_audit_no_{verb.lower()} BEFORE {verb} ON flag_audit "
                f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS flag_audit_append_only ON flag_audit")
        op.execute("DROP FUNCTION IF EXISTS flag_audit_append_only()")
    with op.batch_alter_table("flag_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_rules_flag_key"))
    op.drop_table("flag_rules")
    op.drop_table("flag_requests")
    with op.batch_alter_table("flag_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_flag_audit_flag_at")
    op.drop_table("flag_audit")
    op.drop_table("flag_versions")
    op.drop_table("flags")
