from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.engine import Database
from storage.migrate import current, head_revision, upgrade


def test_migrations_build_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    # Text-index objects (FTS5 tables, the GIN expression index) live outside the models.
    diff = [d for d in diff if not any(name in str(d) for name in ("fts", "ix_request_bodies_response_trgm"))]
    assert diff == []


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db.write_engine)
    upgrade(db.write_engine)
    assert current(db.engine) == head_revision()
