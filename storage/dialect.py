"""The one place that knows SQLite's and PostgreSQL's upsert syntax apart."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def upsert_insert(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing/update`` on the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
