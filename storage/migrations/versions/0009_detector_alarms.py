"""Detector kernel: one alarm table for every detector, replacing the cost and refusal alarm tables.

Open cost and refusal alarms move over as open alarms with the same finding key and start,
so a burn or a shift that was firing before the upgrade keeps its card and resolves later.
There is no way back (see ``downgrade``).

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
    strings = {"key": 255, "detector": 64, "incident": 255, "status": 16, "severity": 16}
    moments = {"started_at": False, "first_seen": False, "last_seen": False, "resolved_at": True}
    op.create_table(
        "detector_alarms",
        *(sa.Column(name, sa.String(length=size), nullable=False) for name, size in strings.items()),
        *(sa.Column(name, sa.DateTime(timezone=True), nullable=null) for name, null in moments.items()),
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
    # The kernel's alarm rows carry more than the two old tables could hold (incidents, clean runs, memos),
    # so this step is one way: going back means restoring the database from before the upgrade.
    raise NotImplementedError("0009 moves alarm state into detector_alarms and cannot be undone; restore a backup")
