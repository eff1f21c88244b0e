"""Engines and sessions for the embedded SQLite default and for PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from storage.histogram import merge_encoded
from storage.textindex import TextIndex, text_index_path

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITER_AUTOCHECKPOINT_PAGES = 16_000
"""About 64 MB of WAL before a writer checkpoints by itself (SQLite's default is 1,000 pages)."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and pick the psycopg 3 driver for them."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def _sqlite_engine(url: str, *, immediate: bool, text_index: TextIndex | None = None, **kwargs: Any) -> Engine:
    u = make_url(url)
    if u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        hide_parameters=True,
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own implicit BEGIN is switched off so that we decide how a
        # transaction starts: writers take the write lock up front (BEGIN
        # IMMEDIATE) instead of failing with SQLITE_BUSY when they upgrade.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")
        if immediate:
            # A writer that crosses the limit copies the WAL back into the database inside
            # its own commit, holding the one write lock. The text indexer checkpoints in the
            # background every second (``TextIndex.checkpoint``); this is the safety net for
            # processes without one.
            cur.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
        cur.close()
        dbapi_conn.create_function("hist_merge", 2, merge_encoded, deterministic=True)
        if text_index is not None:
            text_index.attach(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """The two ways into the store: plain sessions, and write sessions.

    On SQLite a write session starts with the write lock held (BEGIN IMMEDIATE)
    so concurrent writers queue on the busy timeout instead of failing; readers
    keep using deferred transactions and never block writers under WAL. On
    PostgreSQL both are the same engine.
    """

    url: str
    engine: Engine
    write_engine: Engine
    text_index: TextIndex | None = None
    """SQLite only: the answers' text index in its own file (see ``storage.textindex``)."""
    writer_lock_path: Path | None = None
    """SQLite only: a file whose lock the writers of every process on this database queue on."""
    _writer_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _writer_file: Any = field(default=None, repr=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        # SQLite has one writer at a time. Queueing writers on a lock wakes the
        # next one the moment the previous commits, where SQLite's busy handler
        # would sleep in steps of up to 100 ms: a thread lock within a process,
        # and a file lock between the processes of ``serve --workers``.
        lock = self._sqlite_writer() if self.is_sqlite else contextlib.nullcontext()
        with lock, Session(self.write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def _sqlite_writer(self) -> Iterator[None]:
        with self._writer_lock:
            if self.writer_lock_path is None:
                yield
                return
            if self._writer_file is None:
                self._writer_file = self.writer_lock_path.open("a")
            fcntl.flock(self._writer_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._writer_file, fcntl.LOCK_UN)

    def searchable(self) -> None:
        """Index whatever is stored but not yet in the SQLite text index, so a search sees every write.

        The indexer thread normally keeps the lag under a second; this makes the text search of a
        CLI run, a test or a process without the indexer exact too. A no-op on PostgreSQL.
        """
        if self.text_index is not None:
            self.text_index.catch_up()

    def dispose(self) -> None:
        if self.text_index is not None:
            self.text_index.close()
        if self._writer_file is not None:
            self._writer_file.close()
            self._writer_file = None
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


def connect(url: str, *, pool_size: int = 10) -> Database:
    """Open the database named by a SQLAlchemy URL (``sqlite:///path`` or ``postgresql://...``)."""
    url = normalise_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        text_index = lock_path = None
        if database and database != ":memory:":
            text_index = TextIndex(text_index_path(database), Path(database))
            text_index.create()
            lock_path = Path(database + ".writer.lock")
        return Database(
            url=url,
            # Only readers attach the text index: a write transaction (BEGIN IMMEDIATE)
            # would take the index file's write lock too and stall the indexer.
            engine=_sqlite_engine(url, immediate=False, text_index=text_index),
            write_engine=_sqlite_engine(url, immediate=True),
            text_index=text_index,
            writer_lock_path=lock_path,
        )
    # hide_parameters: an error's message would otherwise carry the row (prompts, responses, tenants).
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, hide_parameters=True)
    return Database(url=url, engine=engine, write_engine=engine)
