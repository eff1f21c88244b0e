"""The latency alarm and ``/latency`` at volume: detection delay, false alarms over a clean week, query times.

    .venv/bin/python bench/latency_sim.py [--runs 3] [--clean-days 7] [--volumes 1000000,10000000]

1. Detection: six tenants and four intents (96 requests a minute), two days of history, then the
   declared fallback path of one intent climbs linearly from 3% to 15% of it over an hour. The
   requests are folded into the rollups by ingestion's own fold; ``detect`` (the real detector,
   reading the database) runs at every simulated minute from 20 minutes before the crossing
   (the first minute whose trailing hour has the path above 10%) until it pages. Prints the delay
   from the crossing minute to the evaluation that pages, and any page before the crossing.
2. Clean week: the same traffic at its usual 3% share, with latency budgets set on two intents and
   a 0.4% provider error rate, from launch for ``--clean-days`` days. The detector's evaluation
   runs at every minute from the first hour on (on snapshots cut from rollups read once), and the
   real ``detect`` every 30 minutes as a check that both agree. Prints the findings.
3. ``/latency``: rollup rows of 1M and 10M requests over 30 days written straight in, then the
   real command through ``run_command`` (chart included) over SQLite, a rotation of arguments.
"""

from __future__ import annotations

import argparse
import bisect
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency_volume import write_volume

from bot.config import load_settings
from bot.latency.command import COMMAND
from bot.latency.config import LatencyConfig
from bot.latency.detector import BASELINE_DAYS, detect
from bot.latency.signals import LOOKBACK, Snapshot, evaluate, needed_intents
from bot.latency.world import FALLBACK, World, ramp, true_crossing
from bot.services import Services, build_services
from bot.slack.registry import CommandRequest, run_command
from storage import latency as store
from storage import rollups

START = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())
INTENT = "billing_question"
COMMANDS = ["", "by intent", "billing_question", "deep_rag by tenant", "by provider", "1h by path", "7d by intent"]


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def open_services(folder: Path, latency: dict) -> Services:
    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'a.db'}", config_file=folder / "none.toml",
        secret_key="bench-secret-key-0123456789", scheduler=False,
    )  # fmt: skip
    services = build_services(settings)
    cfg = LatencyConfig.model_validate(latency)
    services.settings.file = services.settings.file.model_copy(update={"latency": cfg})
    return services


def write_world(services: Services, world: World, start: int, end: int) -> int:
    n = 0
    with services.db.write_session() as session:
        conn = session.connection()
        batch: list[dict] = []
        for r in world.rows(start, end):
            batch.append(r)
            if len(batch) == 20_000:
                rollups.add_requests(conn, batch)
                n, batch = n + len(batch), []
        rollups.add_requests(conn, batch)
    return n + len(batch)


def detection(folder: Path, runs: int) -> None:
    delays, early = [], 0
    for run in range(runs):
        services = open_services(folder / f"detect{run}", {"fallback_paths": [FALLBACK]})
        climb = START + 2 * 86400 + run * 437 * 60  # a different time of day each run
        world = World(seed=100 + run, share_of={INTENT: ramp(climb, climb + 3600, 0.03, 0.15)})
        end = climb + 2 * 3600
        n = write_world(services, world, START, end)
        crossing = true_crossing(world, INTENT, START, end, 0.10)
        assert crossing is not None
        paged = None
        for now in range(crossing - 20 * 60, crossing + 45 * 60, 60):
            hits = [f for f in detect(services, _at(now)) if f.labels.get("cause") == "fallback_share"]
            if hits and now <= crossing:
                early += 1
            if hits and now > crossing:
                paged = now
                break
        services.close()
        delay = None if paged is None else (paged - crossing) / 60
        delays.append(delay)
        print(f"  run {run}: {n:,} requests, crossing {_at(crossing):%m-%d %H:%M}, delay "
              f"{'none' if delay is None else f'{delay:.0f} min'} ({load()})", flush=True)  # fmt: skip
    got = [d for d in delays if d is not None]
    print(f"DETECTION delay after the crossing: max {max(got) if got else 'n/a'} min, "
          f"{len(got)}/{runs} paged, {early} page(s) before the crossing (goal <= 15 min) | {load()}")  # fmt: skip


def clean(folder: Path, days: int) -> None:
    latency = {
        "fallback_paths": [FALLBACK],
        "budgets": [
            {"intent": INTENT, "p95_ms": 3000, "p99_ms": 6000},
            {"intent": INTENT, "path": FALLBACK, "p50_ms": 4000, "p95_ms": 9000},
            {"intent": "order_status", "p95_ms": 3000},
        ],
    }
    services = open_services(folder / "clean", latency)
    cfg = services.settings.file.latency
    end = START + days * 86400
    n = write_world(services, World(seed=7), START, end)
    with services.db.session() as session:
        minutes = store.list_counts(session=session, start=START, end=end)
        hours = store.list_counts(session=session, start=START, end=end, bucket_seconds=3600)
        model_minutes = store.list_counts(session=session, start=START, end=end, dims=("model", "path"))
        model_hours = store.list_counts(session=session, start=START, end=end, bucket_seconds=3600, dims=("model",))
    by_minute = [m[0] for m in minutes]
    by_model_minute = [m[0] for m in model_minutes]
    by_hour = [h[0] for h in hours]
    by_model_hour = [h[0] for h in model_hours]

    def cut(rows: list, keys: list[int], lo: int, hi: int) -> list:
        return rows[bisect.bisect_left(keys, lo) : bisect.bisect_left(keys, hi)]

    recent: list = []
    recent_hour = None
    runs, firing, checks, disagree = 0, [], 0, 0
    began = time.perf_counter()
    for now in range(START + 3600, end + 1, 60):
        first = (now - LOOKBACK - cfg.long_minutes * 60) // 3600 * 3600
        hours_from = (now - BASELINE_DAYS * 86400) // 3600 * 3600
        snap = Snapshot(
            end=now,
            first=first,
            minutes=cut(minutes, by_minute, first, now),
            hours=cut(hours, by_hour, hours_from, first),
            model_minutes=cut(model_minutes, by_model_minute, now - 3600, now),
            model_hours=cut(model_hours, by_model_hour, hours_from, (now - 3600) // 3600 * 3600),
        )
        intents = needed_intents(snap, cfg)
        if recent_hour != now // 3600:  # read the histogram rows an hour at a time, then slice
            recent_hour = now // 3600
            with services.db.session() as session:
                lo = recent_hour * 3600 - 3600
                recent = store.list_latency_rows(session=session, start=lo, end=lo + 7200)
            recent.sort(key=lambda r: r.bucket)
            recent_keys = [r.bucket for r in recent]
        snap.recent = [r for r in cut(recent, recent_keys, now - 3600, now) if r.intent in intents]
        signals = evaluate(snap, cfg)
        runs += 1
        found = [("share", s.intent, s.path) for s in signals.shares] + [
            ("budget", b.budget.describe(), "") for b in signals.breaches
        ]
        found += [("provider", p.provider, "") for p in signals.providers]
        if found:
            firing.append((now, found))
        if (now - START) % 1800 == 0:
            checks += 1
            real = detect(services, _at(now))
            if len(real) != len(found):
                disagree += 1
    elapsed = time.perf_counter() - began
    services.close()
    for now, found in firing[:10]:
        print(f"  {_at(now):%m-%d %H:%M} {found}")
    print(f"CLEAN {days} days ({n:,} requests): {len(firing)} firing evaluation(s) of {runs:,} "
          f"(goal 0); real detect checked {checks} times, {disagree} disagreement(s); "
          f"{elapsed / runs * 1000:.1f} ms per evaluation | {load()}")  # fmt: skip


def volume(folder: Path, requests: int, repeat: int) -> None:
    services = open_services(folder / f"vol{requests}", {"fallback_paths": [FALLBACK]})
    began = time.perf_counter()
    with services.db.write_session() as session:
        total, n_min, n_hour = write_volume(session.connection(), start=START, days=30, requests=requests)
    wrote = time.perf_counter() - began
    now = _at(START + 30 * 86400 - 7 * 60)
    timings: dict[str, list[float]] = {c: [] for c in COMMANDS}
    for i in range(repeat + 1):
        for text in COMMANDS:
            t0 = time.perf_counter()
            reply = run_command(services, COMMAND, CommandRequest("/latency", text, "U0BENCH01", "C0BENCH01", now))
            took = (time.perf_counter() - t0) * 1000
            assert reply.uploads, f"/latency {text} failed: {reply.card.text}"
            if i:  # the first round warms the caches
                timings[text].append(took)
    services.close()
    every = sorted(t for ts in timings.values() for t in ts)
    p95 = every[max(0, round(0.95 * len(every)) - 1)]
    per = ", ".join(f"'{c or '(none)'}' {statistics.median(ts):.0f}" for c, ts in timings.items())
    print(f"/latency at {total / 1e6:.1f}M requests ({n_min:,} minute rows, {n_hour:,} hour rows, written in "
          f"{wrote:.0f} s): p50 {statistics.median(every):.0f} ms, p95 {p95:.0f} ms over {len(every)} runs "
          f"(goal p95 <= 300 ms at 10M) | {load()}\n  median per command (ms): {per}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clean-days", type=int, default=7)
    parser.add_argument("--volumes", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma-separated: detect, clean, volume")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    folder = Path(tempfile.mkdtemp(prefix="latency-sim-"))
    try:
        print(f"start | {load()}", flush=True)
        if "detect" not in skip:
            detection(folder, args.runs)
        if "clean" not in skip:
            clean(folder, args.clean_days)
        if "volume" not in skip:
            for v in filter(None, args.volumes.split(",")):
                volume(folder, int(v), args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
