"""Soak with faults: three replicas on loopback over one PostgreSQL schema, steady ingest, commands, alerts.

    python bench/soak.py [--minutes 10] [--rate 2000] [--batch 200]

Starts three ``afterlaunch serve`` processes (their own fresh schema on the test PostgreSQL,
Slack mode against the Web API stand-in of the test suite), then for ``--minutes``: posts
events at ``--rate`` per second in batches (a client that retries a failed batch on the next
replica, as the README tells clients to), a signed slash command every few seconds, and one
burst of 200 alerts in 10 s. Faults, at fixed points of the run: kill -9 of the scheduler
leader (restarted 5 s later), kill -9 of a random other replica (restarted), and every
database connection of the replicas terminated once (pg_terminate_backend). At the end it
waits for the outbox to drain and prints events, cards, failover time, rates and p99s.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_slack import FakeSlack  # noqa: E402
from tests.slack_signing import signed_headers  # noqa: E402

PG = os.environ.get("AFTERLAUNCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SIGNING = "soak-signing-secret-5b2e9c"
HOOK = "soak-webhook-token-1d7a"
APP = "afterlaunch-soak"
SECRET = "soak-secret-key-for-user-hashing"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replicas:
    def __init__(self, schema: str, fake: FakeSlack, workdir: Path) -> None:
        self.schema, self.fake, self.workdir = schema, fake, workdir
        self.ports = [free_port() for _ in range(3)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None, None, None]
        (workdir / "afterlaunch.toml").write_text('[channels]\ndefault = "C0SOAKOPS"\n')

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start(self, i: int) -> None:
        db = PG.replace("postgresql://", "postgresql+psycopg://")
        query = urlencode({"options": f"-csearch_path={self.schema}", "application_name": f"{APP}-{i}"})
        env = {
            **os.environ,
            "AFTERLAUNCH_DATABASE_URL": f"{db}?{query}",
            "AFTERLAUNCH_DATA_DIR": str(self.workdir / f"r{i}"),
            "AFTERLAUNCH_CONFIG": str(self.workdir / "afterlaunch.toml"),
            "AFTERLAUNCH_SECRET_KEY": SECRET,
            "AFTERLAUNCH_WEBHOOK_TOKEN": HOOK,
            "AFTERLAUNCH_LOG_LEVEL": "WARNING",
            "SLACK_BOT_TOKEN": self.fake.token,
            "SLACK_SIGNING_SECRET": SIGNING,
            "SLACK_API_URL": self.fake.api_url,
        }
        log = (self.workdir / f"r{i}.log").open("ab")
        cmd = [str(ROOT / ".venv/bin/afterlaunch"), "serve", "--port", str(self.ports[i])]
        self.procs[i] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url(i)}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"replica {i} did not start; see {self.workdir}/r{i}.log")

    def kill(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def leader(conn: psycopg.Connection, schema: str) -> int | None:
    """Which replica holds the scheduler's advisory lock (from its connection's application_name)."""
    key = conn.execute(
        "SELECT hashtext(current_database() || '.' || %s || '.afterlaunch-leader')", (schema,)
    ).fetchone()[0]
    row = conn.execute(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objid::bigint = (%s::bigint & 4294967295) "
        "AND a.application_name LIKE %s",
        (key, f"{APP}-%"),
    ).fetchone()
    return int(row[0].rsplit("-", 1)[1]) if row else None


class Load:
    """Event batches from a few client threads, each paced to its share of the rate."""

    def __init__(self, replicas: Replicas, key: str, rate: int, batch: int, clients: int = 4) -> None:
        self.replicas, self.key, self.rate, self.batch, self.clients = replicas, key, rate, batch, clients
        self.stop = threading.Event()
        self.acked: set[str] = set()
        self.duplicated = 0
        self.latencies: list[float] = []
        self.failures = 0
        self.lock = threading.Lock()
        self.serial = itertools.count()

    def _events(self) -> list[dict[str, object]]:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        out = []
        for _ in range(self.batch):
            n = next(self.serial)
            out.append(
                {
                    "request_id": f"soak-{n:09d}",
                    "timestamp": now,
                    "tenant": f"tenant-{n % 7}",
                    "prompt_version": "v1",
                    "model": "gpt-4o-mini",
                    "intent": ("billing", "search", "summary")[n % 3],
                    "input_tokens": 400,
                    "output_tokens": 80,
                    "latency_ms": 300.0 + n % 500,
                    "response": "Here is the answer." if n % 20 else "I can't help with that.",
                }
            )
        return out

    def _client(self, index: int) -> None:
        interval = self.batch * self.clients / self.rate
        target = (index + 1) % 3
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {self.key}"}) as http:
            next_at = time.monotonic() + index * interval / self.clients
            while not self.stop.is_set():
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
                events = self._events()
                body = orjson.dumps({"events": events})
                for _ in range(30):  # retry on the next replica until one takes it
                    started = time.monotonic()
                    try:
                        r = http.post(f"{self.replicas.url(target)}/v1/events", content=body)
                        if r.status_code == 200:
                            result = r.json()
                            with self.lock:
                                self.latencies.append(time.monotonic() - started)
                                self.acked.update(str(e["request_id"]) for e in events)
                                self.duplicated += result["duplicates"]
                            break
                    except httpx.HTTPError:
                        pass
                    with self.lock:
                        self.failures += 1
                    target = (target + 1) % 3
                    time.sleep(0.2)
                target = (target + 1) % 3

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(self.clients)]
        for t in threads:
            t.start()
        return threads


def slash(replicas: Replicas, fake: FakeSlack, stop: threading.Event, acks: list[float]) -> None:
    while not stop.wait(3):
        body = urlencode(
            {
                "command": "/afterlaunch",
                "text": "status",
                "user_id": "U0SOAK001",
                "channel_id": "C0SOAKOPS",
                "team_id": "T0FAKE0001",
                "response_url": fake.new_response_url(),
                "trigger_id": f"t.{uuid.uuid4().hex[:8]}",
            }
        ).encode()
        headers = {**signed_headers(SIGNING, body), "Content-Type": "application/x-www-form-urlencoded"}
        started = time.monotonic()
        try:
            r = httpx.post(
                f"{replicas.url(random.randrange(3))}/slack/events", content=body, headers=headers, timeout=10
            )
            if r.status_code == 200:
                acks.append(time.monotonic() - started)
        except httpx.HTTPError:
            pass


def alert_burst(replicas: Replicas, run: str, count: int = 200, seconds: float = 10) -> tuple[list[float], set[str]]:
    latencies: list[float] = []
    cards: set[str] = set()
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {HOOK}"}) as http:
        start = time.monotonic()
        for i in range(count):
            time.sleep(max(0.0, start + i * seconds / count - time.monotonic()))
            alert = {
                "id": f"{run}-{i}",
                "status": "firing",
                "title": f"Soak alert {i}",
                "severity": "low",
                "starts_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "labels": {"service": f"svc-{i % 10}"},
            }
            for attempt in range(3):
                t0 = time.monotonic()
                try:
                    r = http.post(f"{replicas.url((i + attempt) % 3)}/webhooks/generic", json={"alerts": [alert]})
                except httpx.HTTPError:
                    continue
                if r.status_code == 200:
                    latencies.append(time.monotonic() - t0)
                    cards.update(a["card_key"] for a in r.json()["alerts"])
                    break
    return latencies, cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=int, default=2000, help="events per second")
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    duration = args.minutes * 60
    schema = f"afl_soak_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    workdir = Path(tempfile.mkdtemp(prefix="afterlaunch-soak-"))
    fake = FakeSlack().__enter__()
    replicas = Replicas(schema, fake, workdir)
    try:
        for i in range(3):
            replicas.start(i)
        key = _make_key(replicas)
        load = Load(replicas, key, args.rate, args.batch)
        stop_side = threading.Event()
        acks: list[float] = []
        threads = load.start()
        side = threading.Thread(target=slash, args=(replicas, fake, stop_side, acks), daemon=True)
        side.start()
        t0 = time.monotonic()
        timeline: list[str] = []
        failover = float("nan")
        alert_lat: list[float] = []
        cards: set[str] = set()
        done = {"leader": False, "random": False, "terminate": False, "alerts": False}
        while time.monotonic() - t0 < duration or not all(done.values()):
            elapsed = time.monotonic() - t0
            if not done["leader"] and elapsed > 0.2 * duration:
                done["leader"] = True
                lead = leader(admin, schema)
                if lead is not None:
                    killed = time.monotonic()
                    replicas.kill(lead)
                    while leader(admin, schema) in (None, lead) and time.monotonic() - killed < 120:
                        time.sleep(0.05)
                    failover = time.monotonic() - killed
                    timeline.append(f"{elapsed:6.1f}s kill -9 leader r{lead}; new leader after {failover:.2f}s")
                    time.sleep(max(0.0, 5 - failover))
                    replicas.start(lead)
            elif not done["alerts"] and elapsed > 0.35 * duration:
                done["alerts"] = True
                alert_lat, cards = alert_burst(replicas, schema)
                timeline.append(f"{elapsed:6.1f}s 200 alerts sent in 10 s")
            elif not done["random"] and elapsed > 0.5 * duration:
                done["random"] = True
                victim = random.choice([i for i in range(3) if i != leader(admin, schema)])
                replicas.kill(victim)
                timeline.append(f"{elapsed:6.1f}s kill -9 replica r{victim}")
                time.sleep(5)
                replicas.start(victim)
            elif not done["terminate"] and elapsed > 0.7 * duration:
                done["terminate"] = True
                n = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE %s",
                    (f"{APP}-%",),
                ).fetchone()[0]
                timeline.append(f"{elapsed:6.1f}s terminated {n} database connections of the replicas")
            time.sleep(0.2)
        load.stop.set()
        stop_side.set()
        for t in threads:
            t.join(timeout=60)
        ran = time.monotonic() - t0
        _report(admin, schema, fake, load, ran, failover, alert_lat, cards, acks, timeline, args)
    finally:
        replicas.stop_all()
        fake.__exit__(None, None, None)
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def _make_key(replicas: Replicas) -> str:
    cmd = [str(ROOT / ".venv/bin/afterlaunch"), "keys", "create", "--name", "soak"]
    out = subprocess.run(cmd, env={**os.environ, **_env_of(replicas)}, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"could not create a key: {out.stderr[-2000:]}")
    return next(w for w in out.stdout.split() if w.startswith("al_"))


def _env_of(replicas: Replicas) -> dict[str, str]:
    db = PG.replace("postgresql://", "postgresql+psycopg://")
    query = urlencode({"options": f"-csearch_path={replicas.schema}", "application_name": f"{APP}-cli"})
    return {
        "AFTERLAUNCH_DATABASE_URL": f"{db}?{query}",
        "AFTERLAUNCH_DATA_DIR": str(replicas.workdir / "cli"),
        "AFTERLAUNCH_CONFIG": str(replicas.workdir / "afterlaunch.toml"),
        "AFTERLAUNCH_SECRET_KEY": SECRET,
    }


def _report(
    admin: psycopg.Connection,
    schema: str,
    fake: FakeSlack,
    load: Load,
    ran: float,
    failover: float,
    alert_lat: list[float],
    cards: set[str],
    acks: list[float],
    timeline: list[str],
    args: argparse.Namespace,
) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # let the outbox drain
        pending = admin.execute(f'SELECT count(*) FROM "{schema}".outbox WHERE status = %s', ("pending",)).fetchone()[0]
        if pending == 0:
            break
        time.sleep(1)
    stored_ids = {r[0] for r in admin.execute(f'SELECT request_id FROM "{schema}".requests')}
    rows = admin.execute(f'SELECT count(*) FROM "{schema}".requests').fetchone()[0]
    lost = len(load.acked - stored_ids)
    posted_cards = {
        r[0]
        for r in admin.execute(f'SELECT card_key FROM "{schema}".slack_cards WHERE card_key = ANY(%s)', (list(cards),))
    }
    stamps: Counter[int] = Counter()
    for call in fake.calls("chat.postMessage"):
        if call.status == 200 and not call.failed and isinstance(call.body.get("metadata"), dict):
            stamps[call.body["metadata"]["event_payload"]["outbox_id"]] += 1
    twice = sum(1 for n in stamps.values() if n > 1)
    load1 = os.getloadavg()
    print(f"soak: {ran / 60:.1f} min, target {args.rate} events/s in batches of {args.batch}, 3 replicas, PostgreSQL")
    print("\n".join(timeline))
    print(
        f"events acked {len(load.acked):,}  stored {len(stored_ids & load.acked):,}  lost {lost:,}  "
        f"duplicated rows {rows - len(stored_ids):,}  duplicates answered on retry {load.duplicated:,}"
    )
    print(
        f"ingest rate {len(load.acked) / ran:,.0f} events/s   batch p50 {pct(load.latencies, 0.5) * 1000:.0f} ms  "
        f"p99 {pct(load.latencies, 0.99) * 1000:.0f} ms   failed attempts (retried) {load.failures}"
    )
    print(f"failover (kill -9 of the leader -> new leader) {failover:.2f} s")
    print(
        f"alerts: {len(alert_lat)} of 200 accepted, webhook p99 {pct(alert_lat, 0.99) * 1000:.0f} ms "
        f"(p50 {pct(alert_lat, 0.5) * 1000:.0f} ms)"
    )
    print(f"cards expected {len(cards)}  posted {len(posted_cards)}  outbox messages posted twice {twice}")
    print(f"slash commands acked {len(acks)}, ack p99 {pct(acks, 0.99) * 1000:.0f} ms")
    print(f"load average {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} (2 cores, shared)")


if __name__ == "__main__":
    main()
