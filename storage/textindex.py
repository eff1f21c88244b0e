"""The SQLite text index of answers: its own file, filled by an indexer that follows ingestion.

Indexing an answer in FTS5 costs as much as everything else about storing an event. In the
main database file it would sit inside ingestion's write transaction and hold SQLite's one
write lock. In a file of its own it has its own lock, so the indexer works on one core
while ingestion writes on the other. Readers attach the file and query ``request_fts`` and
``request_fts_vocab`` by their plain names.

The index is derived data: ``indexed_upto`` (the highest body id indexed) is committed in the
same transaction as the index rows, so a crash loses nothing and indexes nothing twice, and
a missing or deleted file is rebuilt from the bodies. Body ids only grow (they are assigned
under the main file's write lock), so "everything above ``indexed_upto``" is exactly the
work left. The table is contentless (the text lives in ``request_bodies``), which keeps the
file small; deleting a row from it needs the text it was indexed with, which the retention
job passes in. PostgreSQL keeps its GIN index, maintained by the server, and has none of this.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storage.texttokens import VERSION, index_text

SCHEMA = "textidx"
"""The name the text index file is attached under on read connections."""

BATCH = 5_000
"""Bodies indexed per transaction: FTS5 writes one segment per transaction, so larger ones merge less."""

BUSY_TIMEOUT_MS = 30_000

CREATE = [
    # Answers are given as ``texttokens.index_text`` spells them (space-less scripts as character pairs);
    # marks count as letters so a Thai vowel sign or a Japanese voicing mark never splits a token.
    "CREATE VIRTUAL TABLE IF NOT EXISTS request_fts USING fts5("
    "response, content='', tokenize=\"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")",
    # 'row': in how many answers a word occurs, read from the index itself.
    "CREATE VIRTUAL TABLE IF NOT EXISTS request_fts_vocab USING fts5vocab(request_fts, 'row')",
    "CREATE TABLE IF NOT EXISTS text_index_state"
    " (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_upto INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO text_index_state (id, indexed_upto) VALUES (1, 0)",
]


def text_index_path(database: str) -> Path:
    """``data/afterlaunch.db`` -> ``data/afterlaunch.text.db``: beside the main file, found from it alone."""
    main = Path(database)
    return main.with_name(f"{main.stem}.text{main.suffix or '.db'}")


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


@dataclass
class TextIndex:
    """One main database file's text index; safe to use from several threads and processes."""

    path: Path
    source: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _conns: tuple[sqlite3.Connection, sqlite3.Connection] | None = field(default=None, repr=False)

    def create(self) -> None:
        """Make the file and its tables if they are missing (a fresh or deleted index starts at 0)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = _open(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            built_by = conn.execute("PRAGMA user_version").fetchone()[0]
            if built_by != VERSION:
                # Tokens from another version would never match the words searched for: start over.
                for table in ("request_fts_vocab", "request_fts", "text_index_state"):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.execute(f"PRAGMA user_version = {VERSION}")
            for statement in CREATE:
                conn.execute(statement)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def attach(self, dbapi_conn: sqlite3.Connection) -> None:
        """Called on every read connection of the main file, so queries see ``request_fts``."""
        dbapi_conn.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (str(self.path),))

    @contextlib.contextmanager
    def _connections(self) -> Iterator[tuple[sqlite3.Connection, sqlite3.Connection]]:
        # Two connections, not one with the other attached: BEGIN IMMEDIATE takes the write
        # lock of every attached file, and the indexer must never hold the main file's.
        with self._lock:
            if self._conns is None:
                self._conns = (_open(self.source), _open(self.path))
            yield self._conns

    def indexed_upto(self) -> int:
        with self._connections() as (_, text):
            row = text.execute("SELECT indexed_upto FROM text_index_state WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def pending(self) -> int:
        """Bodies stored but not yet indexed: the index's lag, in answers."""
        with self._connections() as (main, text):
            upto = text.execute("SELECT indexed_upto FROM text_index_state WHERE id = 1").fetchone()[0]
            return int(main.execute("SELECT count(*) FROM request_bodies WHERE id > ?", (upto,)).fetchone()[0])

    def index_batch(self, limit: int = BATCH) -> int:
        """Index up to ``limit`` bodies past ``indexed_upto`` in one transaction; returns how many were read."""
        with self._connections() as (main, text):
            text.execute("BEGIN IMMEDIATE")
            try:
                upto = text.execute("SELECT indexed_upto FROM text_index_state WHERE id = 1").fetchone()[0]
                rows = main.execute(
                    "SELECT id, response FROM request_bodies WHERE id > ? ORDER BY id LIMIT ?", (upto, limit)
                ).fetchall()
                if rows:
                    text.executemany(
                        "INSERT INTO request_fts (rowid, response) VALUES (?, ?)",
                        [(i, index_text(r)) for i, r in rows if r],
                    )
                    text.execute("UPDATE text_index_state SET indexed_upto = ? WHERE id = 1", (rows[-1][0],))
                text.execute("COMMIT")
            except BaseException:
                text.execute("ROLLBACK")
                raise
        return len(rows)

    def catch_up(self, max_rows: int | None = None) -> int:
        """Index everything stored so far (or ``max_rows`` of it): read-your-writes for the text search."""
        done = 0
        while max_rows is None or done < max_rows:
            n = self.index_batch(BATCH if max_rows is None else min(BATCH, max_rows - done))
            done += n
            if n == 0:
                break
        return done

    def checkpoint(self) -> None:
        """Copy both files' WAL back into them (PASSIVE: never waits for, or blocks, a writer or reader).

        Writers of the main file leave checkpoints to this, so that copying pages does not
        happen inside ingestion's commit while it holds the write lock.
        """
        with self._connections() as (main, text):
            main.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            text.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def forget(self, rows: Sequence[tuple[int, str | None]]) -> int:
        """Take purged answers out of the index; ``rows`` are (id, the text it was indexed with)."""
        with self._connections() as (_, text):
            text.execute("BEGIN IMMEDIATE")
            try:
                upto = text.execute("SELECT indexed_upto FROM text_index_state WHERE id = 1").fetchone()[0]
                # Only what was indexed can be deleted: FTS5 trusts the text it is given.
                gone = [(i, index_text(r)) for i, r in rows if r and i <= upto]
                text.executemany("INSERT INTO request_fts (request_fts, rowid, response) VALUES ('delete', ?, ?)", gone)
                text.execute("COMMIT")
            except BaseException:
                text.execute("ROLLBACK")
                raise
        return len(gone)

    def close(self) -> None:
        with self._lock:
            if self._conns is not None:
                for conn in self._conns:
                    conn.close()
                self._conns = None
