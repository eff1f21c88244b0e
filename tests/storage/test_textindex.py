"""The SQLite text index in its own file: it follows ingestion, never blocks it, and survives crashes and loss.

These tests are about SQLite's index file only (PostgreSQL's GIN index is the server's own), so they build
their SQLite services themselves instead of running on both databases.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.config import load_settings
from bot.demo.server import BackgroundServer
from bot.ingest.service import Writer, ingest
from bot.services import Services, build_services
from storage.textindex import TextIndex, text_index_path
from tests.conftest import make_key
from tests.ingest.factory import NOW, event


@pytest.fixture
def sqlite_services(tmp_path: Path) -> Iterator[Services]:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'afterlaunch.db'}",
        config_file=tmp_path / "none.toml",
        secret_key="test-secret-key-for-text-index",
    )
    services = build_services(settings)
    yield services
    services.close()


def store(services: Services, *answers: str) -> None:
    events = [event(response=a) for a in answers]
    assert ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=NOW).accepted == len(events)


def hits(services: Services, query: str) -> list[int]:
    with services.db.session() as s:
        sql = "SELECT rowid FROM request_fts WHERE request_fts MATCH ? ORDER BY rowid"
        return [r[0] for r in s.connection().exec_driver_sql(sql, (query,))]


def index_of(services: Services) -> TextIndex:
    assert services.db.text_index is not None
    return services.db.text_index


def test_the_index_lives_beside_the_main_file(sqlite_services: Services, tmp_path: Path) -> None:
    assert index_of(sqlite_services).path == tmp_path / "afterlaunch.text.db"
    assert text_index_path("/x/y/prod.sqlite") == Path("/x/y/prod.text.sqlite")
    with sqlite3.connect(tmp_path / "afterlaunch.db") as main:
        names = {r[0] for r in main.execute("SELECT name FROM sqlite_master")}
    assert "request_fts" not in names  # nothing of the index is written in ingest's transaction


def test_ingest_stores_and_the_indexer_catches_up(sqlite_services: Services) -> None:
    index = index_of(sqlite_services)
    store(sqlite_services, "the quokka smiled", "a wombat frowned", "another quokka")
    assert index.pending() == 3
    assert hits(sqlite_services, "quokka") == []
    assert index.catch_up() == 3
    assert index.pending() == 0
    assert len(hits(sqlite_services, "quokka")) == 2
    assert index.catch_up() == 0  # nothing is indexed twice


def test_progress_commits_with_the_rows_so_a_partial_run_resumes(sqlite_services: Services) -> None:
    index = index_of(sqlite_services)
    store(sqlite_services, *(f"answer number{i} shared" for i in range(7)))
    assert index.index_batch(limit=3) == 3
    assert index.pending() == 4
    assert index.catch_up() == 4
    with sqlite_services.db.session() as s:
        docs = s.connection().exec_driver_sql("SELECT doc FROM request_fts_vocab WHERE term = 'shared'").scalar()
    assert docs == 7


def test_a_failed_batch_indexes_nothing_and_is_retried(sqlite_services: Services) -> None:
    index = index_of(sqlite_services)
    store(sqlite_services, "first kiwi", "second kiwi")
    index.catch_up()
    with index._connections() as (_, text):  # any open connection of the index would do
        text.execute(
            "CREATE TRIGGER fail_once BEFORE UPDATE ON text_index_state BEGIN SELECT RAISE(ABORT, 'disk'); END"
        )
    store(sqlite_services, "third kiwi")
    with pytest.raises(sqlite3.IntegrityError):
        index.index_batch()
    assert len(hits(sqlite_services, "kiwi")) == 2  # the rows of the failed batch rolled back with its progress
    with index._connections() as (_, text):
        text.execute("DROP TRIGGER fail_once")
    assert index.catch_up() == 1
    assert len(hits(sqlite_services, "kiwi")) == 3


def test_a_lost_index_file_is_rebuilt_from_the_bodies(tmp_path: Path, sqlite_services: Services) -> None:
    store(sqlite_services, "the lost emu", "a found emu")
    index_of(sqlite_services).catch_up()
    path = index_of(sqlite_services).path
    sqlite_services.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    again = build_services(sqlite_services.settings)
    try:
        assert index_of(again).catch_up() == 2
        assert len(hits(again, "emu")) == 2
    finally:
        again.close()


def test_two_indexers_share_the_work_and_index_each_answer_once(sqlite_services: Services) -> None:
    store(sqlite_services, *(f"parallel answer {i} marmot" for i in range(12_000)))
    first = index_of(sqlite_services)
    second = TextIndex(first.path, first.source)  # as another process on the same files would
    done: list[int] = []
    threads = [threading.Thread(target=lambda ix=ix: done.append(ix.catch_up())) for ix in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    second.close()
    assert sum(done) == 12_000
    with sqlite_services.db.session() as s:
        docs = s.connection().exec_driver_sql("SELECT doc FROM request_fts_vocab WHERE term = 'marmot'").scalar()
    assert docs == 12_000


def test_ingest_is_not_blocked_while_the_indexer_writes(sqlite_services: Services) -> None:
    index = index_of(sqlite_services)
    store(sqlite_services, "before the lock")
    blocker = sqlite3.connect(index.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the index file's write lock, held as a long indexing batch would
    try:
        finished = threading.Event()

        def write() -> None:
            store(sqlite_services, "while the indexer holds its lock")
            finished.set()

        threading.Thread(target=write, daemon=True).start()
        assert finished.wait(10), "ingest waited for the text index's write lock"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert index.catch_up() == 2


def test_the_service_indexes_what_it_ingests_without_being_asked(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'afterlaunch.db'}",
        config_file=tmp_path / "none.toml",
        secret_key="test-secret-key-for-text-index",
        scheduler=False,
    )
    services = build_services(settings)
    key = make_key(services)
    from bot.app import create_app

    with BackgroundServer(create_app(settings, services=services)) as server:
        when = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        body = {"events": [event(response="a platypus in the answer", timestamp=when)]}
        r = httpx.post(f"{server.url}/v1/events", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert r.status_code == 200 and r.json()["accepted"] == 1
        deadline = time.monotonic() + 10
        while not hits(services, "platypus") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(hits(services, "platypus")) == 1
    services.close()


def test_an_index_built_with_older_tokens_is_rebuilt_with_todays(tmp_path: Path) -> None:
    """Word tokens from before character pairs would never match a pair searched for: the file starts over."""
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'afterlaunch.db'}",
        config_file=tmp_path / "none.toml",
        secret_key="test-secret-key-for-text-index",
    )
    services = build_services(settings)
    store(services, "料金来週解約反映日割り解約の順で精算されます")
    index_of(services).catch_up()
    services.close()
    answer = "料金来週解約反映日割り解約の順で精算されます"
    with sqlite3.connect(tmp_path / "afterlaunch.text.db") as old:  # as an older version left it
        old.execute("DROP TABLE request_fts_vocab")
        old.execute("DROP TABLE request_fts")
        old.execute("CREATE VIRTUAL TABLE request_fts USING fts5(response, content='', tokenize='unicode61')")
        old.execute("INSERT INTO request_fts (rowid, response) VALUES (1, ?)", (answer,))
        old.execute("PRAGMA user_version = 1")
    services = build_services(settings)
    try:
        assert index_of(services).indexed_upto() == 0
        index_of(services).catch_up()
        assert hits(services, '"来週 週解"') == [1]
        with sqlite3.connect(tmp_path / "afterlaunch.text.db") as rebuilt:
            assert rebuilt.execute("PRAGMA user_version").fetchone()[0] == 2
    finally:
        services.close()
