"""Burn-rate alarms and cause attribution on 30 simulated days of 20 tenants, and ``/cost`` over 10M requests.

    .venv/bin/python bench/cost_sim.py [--seeds 10] [--clean-every 1] [--cost-requests 10000000]
    .venv/bin/python bench/cost_sim.py --launch [--quick]   (the launch matrix: see bench/cost_launch.py)

1. Injections: for each seed and each of the six causes, a world of 30 days of clean
   traffic (rollup rows written straight through ``storage.rollups.upsert``), one tenant
   holding at least 5% of spend gets a 4x spend increase at a random minute after the
   14-day warm-up. That tenant's requests from 3.5 h before to 31 min after the start go
   through the real ``bot.ingest.service.ingest`` (so attribution reads real rows with the
   cause's signature); ``detect_cost_burn`` runs every simulated minute from 5 minutes
   before the start until it pages. Prints the detection delay and whether the page names
   the injected cause.
2. Clean traffic: one more world, every minute of its 30 days written, and the detector
   run at every simulated minute from the end of day 1 (the first whole day of history)
   to the end of day 30. Prints pages and tickets.
3. ``/cost``: the rollup rows 10M requests over 30 days leave (cohorts down to path and
   prompt version), then the real handler via ``bot.slack.registry.run_command`` (chart
   included) over SQLite, timed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cost_sim_world import (
    DAY,
    World,
    build_world,
    calibrate,
    inject,
    normal_events,
    write_cost_world,
    write_world,
)

from bot.config import BudgetConfig, FileConfig, load_settings
from bot.cost.attribution import CAUSES
from bot.cost.baseline import clear_cache
from bot.cost.command import COMMAND
from bot.cost.detector import detect_cost_burn
from bot.ingest.pricing import PriceTable
from bot.ingest.service import Writer, ingest
from bot.services import Services, build_services
from bot.slack.registry import CommandRequest, run_command

START = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())
DAYS = 30
WARMUP_DAYS = 14
PER_MINUTE = 10_000_000 / (30 * 1440)
MIN_SHARE = 0.05
REF_S = 3 * 3600 + 30 * 60
AFTER_S = 31 * 60


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def open_db(folder: Path, template: Path, name: str, budget_usd: float | None) -> Services:
    """A fresh copy of the migrated template database, with an all-traffic monthly budget when given."""
    path = folder / f"{name}.db"
    shutil.copy(template, path)
    budgets = [BudgetConfig(cohort={}, period="month", usd=budget_usd)] if budget_usd else []
    settings = load_settings(
        data_dir=folder,
        database_url=f"sqlite:///{path}",
        config_file=folder / "none.toml",
        secret_key="bench-secret-key",
        run_migrations=False,
        scheduler=False,
        file=FileConfig(budgets=budgets),
    )
    clear_cache()
    return build_services(settings)


def run_injection(
    folder: Path, template: Path, world: World, seed: int, cause: str, prices: PriceTable, rng: random.Random
) -> dict[str, Any]:
    """One cause injected into one tenant at a random minute; the detector runs until it pages."""
    shares = world.tenant_share()
    tenant = rng.choice(sorted(t for t, s in shares.items() if s >= MIN_SHARE))
    t_i = START + WARMUP_DAYS * DAY + rng.randrange((DAYS - WARMUP_DAYS) * DAY - 2 * 3600)
    minute0 = t_i // 60 * 60
    lo, hi = minute0 - REF_S, minute0 + AFTER_S
    services = open_db(folder, template, f"inj_{seed}_{cause}", budget_usd=1.3 * float(world.cost.sum()))
    try:
        with services.db.write_session() as session:
            write_world(session.connection(), world, minutes=(minute0 - 8 * 3600, hi + 3600), hole=(tenant, lo, hi))
        events: list[dict[str, Any]] = []
        state = {"tenant": tenant, "model": world.models[tenant], "seed": seed}
        for m in range(lo, hi, 60):
            batch = normal_events(world, rng, tenant, m)
            if m + 60 > t_i:
                after = [e for e in batch if datetime.fromisoformat(e["timestamp"]).timestamp() >= t_i]
                before = [e for e in batch if e not in after]
                state.update(minute=m, **{"from": max(m, t_i)})
                batch = before + inject(cause, after, rng=rng, prices=prices, state=state)
            events += batch
        for i in range(0, len(events), 1000):
            ingest(services.db, events[i : i + 1000], cfg=services.ingest, writer=Writer(None, None), now=_dt(hi))
        pre_pages, result = 0, {"delay": None, "causes": [], "cohorts": [], "tenant": tenant, "share": shares[tenant]}
        for now_s in range(minute0 - 5 * 60, hi, 60):
            findings = detect_cost_burn(services, _dt(now_s))
            pages = [f for f in findings if f.status == "firing" and f.severity == "critical"]
            if not pages:
                continue
            if now_s <= t_i:
                pre_pages += 1
                continue
            result.update(
                delay=(now_s - t_i) / 60,
                causes=[f.labels.get("cause", "") for f in pages],
                cohorts=[f.key.split(":", 1)[1] for f in pages],
            )
            break
        result.update(pre_pages=pre_pages, events=len(events))
        return result
    finally:
        services.close()


def run_clean(
    folder: Path, template: Path, world: World, every: int, from_day: int
) -> tuple[int, int, int, list[str], float]:
    """Every simulated minute (or every ``every``) of clean traffic: how many runs page or ticket."""
    services = open_db(folder, template, "clean", budget_usd=1.3 * float(world.cost.sum()))
    try:
        with services.db.write_session() as session:
            write_world(session.connection(), world, minutes=None)
        runs = pages = tickets = 0
        paged: list[str] = []
        began = time.perf_counter()
        for now_s in range(START + from_day * DAY, START + DAYS * DAY + 1, 60 * every):
            findings = detect_cost_burn(services, _dt(now_s))
            runs += 1
            firing = [f for f in findings if f.status == "firing"]
            if any(f.severity == "critical" for f in firing):
                pages += 1
                paged += [f"{_dt(now_s):%m-%d %H:%M} {f.key}" for f in firing if f.severity == "critical"]
            if any(f.severity != "critical" for f in firing):
                tickets += 1
        return runs, pages, tickets, paged, (time.perf_counter() - began) / max(runs, 1)
    finally:
        services.close()


def run_cost_command(
    folder: Path, template: Path, requests: int, calib: dict, runs: int
) -> tuple[int, int, int, list[float], float]:
    """Rollups of ``requests`` over 30 days, then ``/cost`` queries over the 30-day window, timed."""
    services = open_db(folder, template, "cost_cmd", budget_usd=None)
    try:
        began = time.perf_counter()
        with services.db.write_session() as session:
            total, n_min, n_hour = write_cost_world(
                session.connection(), seed=7, start=START, days=DAYS, requests=requests, calib=calib
            )
            session.execute(__import__("sqlalchemy").text("ANALYZE"))
        build_s = time.perf_counter() - began
        now = _dt(START + DAYS * DAY - 60)
        texts = [
            "30d",
            "by intent 30d",
            "by model 30d",
            "by key 30d tenant=t03",
            "by prompt_version 30d intent=billing",
        ]
        times: list[float] = []
        for i in range(runs + 1):
            request = CommandRequest("/cost", texts[i % len(texts)], "U0BENCH01", "C0BENCH01", now)
            t0 = time.perf_counter()
            reply = run_command(services, COMMAND, request)
            elapsed = time.perf_counter() - t0
            assert reply.uploads and reply.uploads[0].content.startswith(b"\x89PNG"), reply.card.text
            if i:  # the first run warms imports and caches
                times.append(elapsed)
        return total, n_min, n_hour, times, build_s
    finally:
        services.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--causes", default=",".join(CAUSES))
    parser.add_argument("--clean-every", type=int, default=1, help="run the clean-traffic detector every N minutes")
    parser.add_argument("--clean-from-day", type=int, default=1)
    parser.add_argument("--cost-requests", type=int, default=10_000_000)
    parser.add_argument("--cost-runs", type=int, default=20)
    parser.add_argument("--skip", default="", help="comma list of parts to skip: inject, clean, cost")
    parser.add_argument("--launch", action="store_true", help="run only the launch matrix (issue 16), 5 seeds")
    parser.add_argument("--quick", action="store_true", help="with --launch: 1 seed, for development")
    parser.add_argument("--jobs", type=int, default=1, help="with --launch: worker processes")
    parser.add_argument("--launch-seeds", type=int, default=5, help="with --launch: seeds per cell (acceptance: 5)")
    parser.add_argument("--histories", default="0.5,1,2,4,8", help="with --launch: days of history")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    prices = PriceTable.load()
    calib = calibrate(prices)
    folder = Path(tempfile.mkdtemp(prefix="afterlaunch-bench-cost-"))
    template = folder / "template.db"
    build_services(
        load_settings(
            data_dir=folder,
            database_url=f"sqlite:///{template}",
            config_file=folder / "none.toml",
            secret_key="bench-secret-key",
            scheduler=False,
        )
    ).close()
    if not args.launch:
        print(f"world: {len(world_tenants())} tenants, {DAYS} days, {PER_MINUTE:.0f} requests/min on average,")
        print(f"       daily cycle and noise; baseline warm-up {WARMUP_DAYS} days; detector every simulated minute")
    try:
        if args.launch:
            from cost_launch import launch_matrix

            def opener(name: str) -> Services:
                return open_db(folder, template, name, None)

            histories = tuple(float(h) for h in args.histories.split(","))
            seeds = 1 if args.quick else args.launch_seeds
            launch_matrix(opener, seeds=seeds, quick=args.quick, jobs=args.jobs, histories=histories)
            return 0
        if "inject" not in skip:
            _injections(args, folder, template, prices, calib)
        if "clean" not in skip:
            world = build_world(1000, start=START, days=DAYS, per_minute=PER_MINUTE, calib=calib)
            runs, pages, tickets, paged, per_run = run_clean(
                folder, template, world, args.clean_every, args.clean_from_day
            )
            print(
                f"\nclean traffic: {runs} detector runs (every {args.clean_every} simulated min, days "
                f"{args.clean_from_day}-{DAYS}), {int(world.counts.sum()):,} requests as rollups"
            )
            print(f"  runs with a page: {pages}   runs with a ticket only-level finding: {tickets}")
            print(f"  detector run: {per_run * 1000:.1f} ms mean")
            for line in paged[:10]:
                print(f"  page: {line}")
            print(f"  goal no page in 30 days: {'MET' if pages == 0 else 'MISSED'}")
        if "cost" not in skip:
            total, n_min, n_hour, times, build_s = run_cost_command(
                folder, template, args.cost_requests, calib, args.cost_runs
            )
            p95 = _pct(times, 0.95)
            print(
                f"\n/cost over 30 days: rollups that {total:,} logged requests leave (simulated as rollup rows, "
                f"not ingested): {n_min:,} minute rows, {n_hour:,} hourly rows (built in {build_s:.0f} s)"
            )
            print(
                f"  {len(times)} runs of the real handler with its PNG chart: "
                f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
            )
            print(f"  goal p95 <= 300 ms: {'MET' if p95 <= 0.3 else 'MISSED'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def world_tenants() -> tuple[str, ...]:
    from cost_sim_world import TENANTS

    return TENANTS


def _injections(args: argparse.Namespace, folder: Path, template: Path, prices: PriceTable, calib: dict) -> None:
    causes = [c for c in args.causes.split(",") if c]
    rows = []
    began = time.perf_counter()
    for seed in range(args.seeds):
        world = build_world(seed, start=START, days=DAYS, per_minute=PER_MINUTE, calib=calib)
        for cause in causes:
            rng = random.Random(f"{seed}:{cause}")
            r = run_injection(folder, template, world, seed, cause, prices, rng)
            r.update(seed=seed, cause=cause)
            rows.append(r)
            print(
                f"  seed {seed} {cause:<19} tenant {r['tenant']} ({r['share']:.0%} of spend): "
                + (
                    f"paged after {r['delay']:.1f} min, cause {','.join(r['causes'])} on {'; '.join(r['cohorts'])}"
                    if r["delay"] is not None
                    else "NOT paged within 31 min"
                ),
                flush=True,
            )
    delays = [r["delay"] for r in rows if r["delay"] is not None]
    right_first = sum(1 for r in rows if r["causes"] and all(c == r["cause"] for c in r["causes"]))
    per_cause = Counter(r["cause"] for r in rows if r["causes"] and all(c == r["cause"] for c in r["causes"]))
    n = len(rows)
    print(f"\ninjections: {n} ({args.seeds} seeds x {len(causes)} causes), 4x spend in one tenant with >= 5% of spend")
    print(
        f"  ingested around the injections: {sum(r['events'] for r in rows):,} events; "
        f"{time.perf_counter() - began:.0f} s"
    )
    if delays:
        print(
            f"  detection delay (simulated minutes): median {statistics.median(delays):.1f}, "
            f"p90 {_pct(delays, 0.9):.1f}, max {max(delays):.1f}; paged {len(delays)}/{n}"
        )
    ok = len(delays) == n and max(delays, default=99) <= 10
    print(f"  goal every 4x spike paged within 10 min: {'MET' if ok else 'MISSED'}")
    print(
        f"  right cause first: {right_first}/{n} ({right_first / n:.0%}); per cause: "
        + ", ".join(f"{c} {per_cause[c]}/{args.seeds}" for c in causes)
    )
    print(f"  goal >= 90%: {'MET' if right_first >= 0.9 * n else 'MISSED'}")
    print(f"  pages before the injection started (false): {sum(r['pre_pages'] for r in rows)}")


if __name__ == "__main__":
    raise SystemExit(main())
