"""Sustained ingestion through the real HTTP endpoint into SQLite, against raw executemany.

    python bench/ingest.py [--events 60000] [--clients 2]

Starts ``afterlaunch serve`` in its own process on a fresh SQLite file, sends
batches of 500 realistic events (about 1.5 KB of prompt, context and response
each) from concurrent clients, and stops the clock when every event is stored
*and* in the text index (the service's indexer follows ingestion in its own
file). Then it inserts the very same rows with ``sqlite3.executemany`` into a
fresh database of the same schema (same indexes, the same text-index file,
written by a second thread as the indexer does) as the storage engine's own
limit. Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.demo.server import free_port, start_service_process
from bot.demo.traffic import make_event
from bot.ingest.service import Writer, to_rows, validate_batch
from bot.services import build_services
from storage import keys as key_store
from storage.engine import WRITER_AUTOCHECKPOINT_PAGES, connect
from storage.migrate import upgrade
from storage.requests import BODY_COLUMNS, REQUEST_COLUMNS
from storage.textindex import BATCH as INDEX_BATCH
from storage.textindex import TextIndex, text_index_path

BATCH = 500


def make_events(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(hours=23)
    step = timedelta(hours=22) / n
    return [make_event(rng, start + i * step) for i in range(n)]


def body_size(events: list[dict]) -> float:
    sizes = [
        len(orjson.dumps(e["prompt"])) + len(orjson.dumps(e["context"])) + len((e["response"] or "").encode())
        for e in events
    ]
    return sum(sizes) / len(sizes)


def start_server(folder: Path, port: int, workers: int) -> subprocess.Popen:
    env = {
        "AFTERLAUNCH_DATA_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'afterlaunch.db'}",
        "AFTERLAUNCH_CONFIG": str(folder / "none.toml"),
        "AFTERLAUNCH_SCHEDULER": "false",
        "AFTERLAUNCH_LOG_LEVEL": "WARNING",
    }
    return start_service_process(env, port, workers=workers)


def index_lag(folder: Path) -> int:
    """Answers stored but not yet in the text index, read from the files as any reader would."""
    with (
        sqlite3.connect(folder / "afterlaunch.db") as main,
        sqlite3.connect(text_index_path(str(folder / "afterlaunch.db"))) as text,
    ):
        stored = main.execute("SELECT coalesce(max(id), 0) FROM request_bodies").fetchone()[0]
        upto = text.execute("SELECT indexed_upto FROM text_index_state").fetchone()[0]
    return stored - upto


def over_http(events: list[dict], clients: int, folder: Path, workers: int) -> tuple[float, float, int, int]:
    settings = load_settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'afterlaunch.db'}", config_file=folder / "none.toml"
    )
    services = build_services(settings)
    with services.db.write_session() as session:
        _, key = key_store.create_key(
            session=session, name="bench", tenant=None, scopes={"ingest"}, now=datetime.now(UTC)
        )
    services.close()
    port = free_port()
    proc = start_server(folder, port, workers)
    bodies = [orjson.dumps({"events": events[i : i + BATCH]}) for i in range(0, len(events), BATCH)]
    warmup, timed = bodies[:2], bodies[2:]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    accepted = 0
    lock = threading.Lock()

    def client(share: list[bytes]) -> None:
        nonlocal accepted
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as c:
            for body in share:
                r = c.post("/v1/events", content=body)
                r.raise_for_status()
                with lock:
                    accepted += r.json()["accepted"]

    try:
        client(warmup)
        threads = [threading.Thread(target=client, args=(timed[i::clients],)) for i in range(clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stored = time.perf_counter() - began
        lag_at_end = index_lag(folder)
        while index_lag(folder) > 0:
            time.sleep(0.02)
        indexed = time.perf_counter() - began
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    timed_events = sum(len(orjson.loads(b)["events"]) for b in timed)
    return timed_events / indexed, timed_events / stored, lag_at_end, accepted


def raw_executemany(events: list[dict], folder: Path) -> float:
    """The same rows, the same schema: only sqlite3's executemany and the commits are timed.

    The main file and the text-index file are written by two threads at once, as the service's
    ingestion and indexer do: the engine's limit for this layout is the slower of the two.
    """
    url = f"sqlite:///{folder / 'raw.db'}"
    db = connect(url)
    upgrade(db.write_engine)
    db.dispose()
    settings = load_settings(data_dir=folder, database_url=url, config_file=folder / "none.toml")
    services = build_services(settings)
    writer = Writer(None, None)
    now = datetime.now(UTC)
    batches = []
    next_id = 1
    for i in range(0, len(events), BATCH):
        good, _ = validate_batch(events[i : i + BATCH], writer=writer, now=now)
        rows, bodies = [], []
        for event, raw in good:
            row, body = to_rows(event, raw, services.ingest, writer=writer, received_ms=0)
            row["id"] = body["id"] = next_id
            next_id += 1
            rows.append(tuple(row[c] for c in REQUEST_COLUMNS))
            bodies.append(tuple(body[c] for c in BODY_COLUMNS))
        batches.append((rows, bodies))
    services.close()
    index = TextIndex(text_index_path(str(folder / "raw.db")), folder / "raw.db")
    index.create()
    con = sqlite3.connect(folder / "raw.db", isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")  # as the service's writers
    con.execute("PRAGMA cache_size=-65536")
    text = sqlite3.connect(index.path, isolation_level=None, check_same_thread=False)
    text.execute("PRAGMA journal_mode=WAL")
    text.execute("PRAGMA synchronous=NORMAL")
    id_at, response_at = BODY_COLUMNS.index("id"), BODY_COLUMNS.index("response")
    answers = [(b[id_at], b[response_at]) for _, bodies in batches for b in bodies]
    fts_batches = [answers[i : i + INDEX_BATCH] for i in range(0, len(answers), INDEX_BATCH)]
    req_sql = f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})"
    body_sql = f"INSERT INTO request_bodies ({', '.join(BODY_COLUMNS)}) VALUES ({', '.join('?' * len(BODY_COLUMNS))})"
    fts_sql = "INSERT INTO request_fts (rowid, response) VALUES (?, ?)"

    def write_main() -> None:
        for rows, bodies in batches:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(req_sql, rows)
            con.executemany(body_sql, bodies)
            con.execute("COMMIT")

    def write_index() -> None:
        for chunk in fts_batches:
            text.execute("BEGIN IMMEDIATE")
            text.executemany(fts_sql, chunk)
            text.execute("UPDATE text_index_state SET indexed_upto = ? WHERE id = 1", (chunk[-1][0],))
            text.execute("COMMIT")

    writers = [threading.Thread(target=write_main), threading.Thread(target=write_index)]
    began = time.perf_counter()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    elapsed = time.perf_counter() - began
    con.close()
    text.close()
    return sum(len(r) for r, _ in batches) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="server processes (`afterlaunch serve --workers`)")
    args = parser.parse_args()
    events = make_events(args.events, args.seed)
    print(f"{len(events):,} events, batches of {BATCH}, {body_size(events):,.0f} bytes of prompt+context+response each")
    print(f"machine: {os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="afterlaunch-bench-") as tmp:
        http_rate, stored_rate, lag, accepted = over_http(events, args.clients, Path(tmp) / "http", args.workers)
        raw_rate = raw_executemany(events, Path(tmp) / "raw")
    print(
        f"HTTP ingest ({args.clients} clients, {args.workers} server processes), stored and text-indexed: "
        f"{http_rate:,.0f} events/s "
        f"({accepted:,} accepted; stored alone {stored_rate:,.0f} events/s, index {lag:,} answers behind then)"
    )
    print(f"raw sqlite3.executemany, same rows and schema: {raw_rate:,.0f} events/s")
    print(f"ratio: {http_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
