"""``afterlaunch serve --workers 2``: two processes on one SQLite file share ingestion and the text index."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bot.config import load_settings
from bot.demo.server import free_port, start_service_process
from bot.services import build_services
from tests.conftest import make_key
from tests.ingest.factory import event


def test_two_worker_processes_store_every_event_once_and_index_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'afterlaunch.db'}"
    settings = load_settings(data_dir=tmp_path, database_url=url, config_file=tmp_path / "none.toml", scheduler=False)
    services = build_services(settings)
    key = make_key(services)
    env = {
        "AFTERLAUNCH_DATA_DIR": str(tmp_path),
        "DATABASE_URL": url,
        "AFTERLAUNCH_CONFIG": str(tmp_path / "none.toml"),
        "AFTERLAUNCH_SCHEDULER": "false",
        "AFTERLAUNCH_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    proc = start_service_process(env, port, workers=2)
    when = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    batches = [
        [
            event(request_id=f"w{b:02d}-{i:03d}", timestamp=when, response=f"a capybara answer {b} {i}")
            for i in range(100)
        ]
        for b in range(16)
    ]
    results: list[dict] = []
    lock = threading.Lock()

    def client(share: list[list[dict]]) -> None:
        # Each client's own connection: the two processes take connections as they accept them.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}) as c:
            for batch in share:
                r = c.post("/v1/events", json={"events": batch}, timeout=30)
                assert r.status_code == 200, r.text
                with lock:
                    results.append(r.json())

    try:
        # Every batch is sent twice, by different clients at about the same time.
        threads = [threading.Thread(target=client, args=(batches[i % 4 :: 4],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        index = services.db.text_index
        assert index is not None
        deadline = time.monotonic() + 30
        while index.pending() and time.monotonic() < deadline:  # the workers' indexers, not this process
            time.sleep(0.1)
        assert index.pending() == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert sum(r["accepted"] for r in results) == 1600
    assert sum(r["duplicates"] for r in results) == 1600
    with services.db.session() as s:
        conn = s.connection()
        assert conn.exec_driver_sql("SELECT count(*) FROM requests").scalar() == 1600
        assert conn.exec_driver_sql("SELECT doc FROM request_fts_vocab WHERE term = 'capybara'").scalar() == 1600
        assert conn.exec_driver_sql("SELECT sum(requests) FROM rollup_minute").scalar() == 1600
    services.close()
