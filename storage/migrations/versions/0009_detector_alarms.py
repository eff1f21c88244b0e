"""Detector kernel: one alarm table for every detector, replacing the cost and refusal alarm tables.

Open cost and refusal alarms move over as open alarms with the same finding key and start,
so a burn or a shift that was firing before the upgrade keeps its card and resolves later.

Revision ID: 0009
Revises: 0005, 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = ("0005", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "detector_alarms",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("incident", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clean_runs", sa.Integer(), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_detector_alarms_incident", "detector_alarms", ["incident"], unique=False)
    op.create_index("ix_detector_alarms_status_detector", "detector_alarms", ["status", "detector"], unique=False)
    # The cached attribution moves without its time, so the first run after the upgrade attributes afresh.
    op.execute(
        """
        INSERT INTO detector_alarms (key, detector, incident, status, severity, started_at, first_seen, last_seen,
                                     resolved_at, clean_runs, finding, memo)
        SELECT key, CASE WHEN key LIKE 'finance_gap:%' THEN 'finance_gap' ELSE 'cost_burn' END, key, 'open',
               severity, started_at, started_at, updated_at, NULL, 0,
               '{"labels": ' || labels || '}', '{"attribution": ' || attribution || '}'
        FROM cost_alarms WHERE status = 'firing'
        """
    )
    op.execute(
        """
        INSERT INTO detector_alarms (key, detector, incident, status, severity, started_at, first_seen, last_seen,
                                     resolved_at, clean_runs, finding, memo)
        SELECT finding_key, 'refusal_shift', finding_key, 'open',
               CASE WHEN scope LIKE 'tenant=%' THEN 'medium' ELSE 'high' END, started_at, fired_at, updated_at,
               NULL, 0, '{"labels": ' || labels || '}', '{"scope": "' || scope || '"}'
        FROM refusal_alarms
        """
    )
    op.drop_index("ix_cost_alarms_status", table_name="cost_alarms")
    op.drop_table("cost_alarms")
    op.drop_table("refusal_alarms")


def downgrade() -> None:
    op.create_table(
        "refusal_alarms",
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("finding_key", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("labels", sa.String(length=1000), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )
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
    # Open cost alarms go back without their labels' wording; the next run rewrites them.
    op.execute(
        """
        INSERT INTO cost_alarms (key, status, severity, started_at, updated_at, attributed_at, labels, attribution)
        SELECT key, 'firing', severity, started_at, last_seen, NULL, '{}', '{}'
        FROM detector_alarms WHERE status = 'open' AND detector IN ('cost_burn', 'finance_gap')
        """
    )
    op.drop_index("ix_detector_alarms_status_detector", table_name="detector_alarms")
    op.drop_index("ix_detector_alarms_incident", table_name="detector_alarms")
    op.drop_table("detector_alarms")
