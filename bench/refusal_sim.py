"""Refusal-shift detection on simulated traffic, and /refusals latency over 10 million requests.

Run: python bench/refusal_sim.py            (full: 10 seeds, 30 days, 10 million requests; a few minutes)
     python bench/refusal_sim.py --launch   (young history only, issue 16: 1, 2, 7 days; 1, 2, 30 clean days)
     python bench/refusal_sim.py --quick    (3 seeds, 1 million requests)

1. Detection: 30 days of 5-minute buckets for 10 categories (base refusal rates 1-5%, volumes with a daily
   cycle; the category that shifts runs at 2,000 requests an hour, or with --cycle-target averages that
   over the daily cycle). In each seed one category's rate
   doubles at a random time after day 9. The detector's own decision (bot.refusals.stats: the capped CUSUM
   over the last 24 h, baseline from the 7 days before, volume guards) is applied at every 5-minute look.
   To look 6,000+ times per category quickly, an exact screen runs first: the uncapped CUSUM (an upper
   bound of the capped one) is computed for all looks at once with numpy, and the detector's code decides
   every look where the bound reaches the threshold. Prints detection delay in minutes and in requests.
2. False alarms: the same 30 days with no change, 10 categories x seeds, every look.
3. Database check: seed 0's shifted category is written as rollup rows and the real detector
   (bot.refusals.shift.detect) is run at the simulated detection time and 30 minutes before it.
4. /refusals latency: rollup rows for N requests over 30 days (10 categories x 3 tenants x 2 models) and
   the last day of request rows are written directly into a fresh SQLite database (not ingested event by
   event: ingest speed is bench/ingest.py's subject); then /refusals variants run 20 times each, chart included.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import load_settings
from bot.refusals import command, shift
from bot.refusals.stats import ShiftParams, baseline_rate, cusum, is_shift
from bot.services import Services, build_services
from bot.slack.registry import CommandRequest
from storage import rollups
from storage.models import COHORT_DIMENSIONS

STEP_MIN = 5
PER_DAY = 24 * 60 // STEP_MIN  # 288 buckets
WINDOW = shift.WINDOW // 60 // STEP_MIN
BASELINE = shift.BASELINE_DAYS * PER_DAY
START = datetime(2026, 10, 1, tzinfo=UTC)
CATEGORIES = ("billing", "account", "troubleshooting", "summarize", "refunds", "legal", "export", "sso", "api", "other")
PARAMS = ShiftParams()


def daily_cycle(buckets: int) -> np.ndarray:
    """Relative volume per 5-minute bucket: quiet nights, a busy afternoon; mean 1."""
    hours = (np.arange(buckets) * STEP_MIN / 60) % 24
    w = np.where((hours >= 6) & (hours <= 22), 0.25 + 0.75 * np.maximum(0, np.sin(np.pi * (hours - 6) / 16)), 0.25)
    return w / w.mean()


def traffic(
    rng: np.random.Generator, days: int, per_hour: float, rate: float, shift_at: int | None, *, cycle: bool = True
):
    """Requests and refusals per 5-minute bucket; the rate doubles from bucket ``shift_at``."""
    buckets = days * PER_DAY
    shape = daily_cycle(buckets) if cycle else np.ones(buckets)
    n = rng.poisson(per_hour * STEP_MIN / 60 * shape)
    p = np.full(buckets, rate)
    if shift_at is not None:
        p[shift_at:] = 2 * rate
    return n, rng.binomial(n, p)


def looks(n: np.ndarray, k: np.ndarray, start: int):
    """Every look from bucket ``start`` on where the detector fires (as it would, without an open alarm)."""
    cn = np.concatenate([[0], np.cumsum(n)])
    ck = np.concatenate([[0], np.cumsum(k)])
    t = np.arange(start, len(n) + 1)  # a look at t sees buckets [t - WINDOW, t)
    a0 = t - WINDOW
    base_n = cn[a0] - cn[a0 - BASELINE]
    base_k = ck[a0] - ck[a0 - BASELINE]
    p0 = np.clip(base_k / np.maximum(base_n, 1), PARAMS.floor_rate, 0.45)
    p1 = np.minimum(PARAMS.ratio * p0, 0.999)
    wa, wb = np.log(p1 / p0), np.log((1 - p1) / (1 - p0))
    # Uncapped CUSUM at the end of each window = max over suffixes of the log-likelihood sum (>= capped).
    idx = a0[:, None] + np.arange(WINDOW + 1)[None, :]
    dk = ck[t][:, None] - ck[idx]
    dn = cn[t][:, None] - cn[idx]
    bound = (wa[:, None] * dk + wb[:, None] * (dn - dk)).max(axis=1)
    fired = []
    for i in np.nonzero(bound >= PARAMS.threshold)[0]:
        lo, hi = int(a0[i]), int(t[i])
        p = baseline_rate(int(base_n[i]), int(base_k[i]), PARAMS)
        if p is None:
            continue
        if is_shift(
            cusum(list(zip(n[lo:hi].tolist(), k[lo:hi].tolist(), strict=True)), p, PARAMS), PARAMS, open_alarm=False
        ):
            fired.append(hi)
    return fired


def episodes(fired: list[int]) -> int:
    """Alarms, counting a run of consecutive firing looks once."""
    return sum(1 for i, t in enumerate(fired) if i == 0 or t - fired[i - 1] > 1)


def detection(seeds: int, days: int, *, cycle_target: bool = False) -> tuple[list[dict], list[tuple[int, int, int]]]:
    """Seeds where one category doubles: delay to the first alarm after the change, alarms before it."""
    runs, clean = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        rates = np.linspace(0.01, 0.05, len(CATEGORIES))
        rng.shuffle(rates)
        volumes = rng.uniform(300, 3000, len(CATEGORIES))
        target = int(rng.integers(len(CATEGORIES)))
        volumes[target] = 2000
        shift_at = int(rng.integers(9 * PER_DAY, (days - 1) * PER_DAY))
        for c in range(len(CATEGORIES)):
            # The goal is stated at 2,000 requests an hour in the shifting category: it runs at that
            # rate unless --cycle-target gives it the daily cycle too (nights at a quarter of it).
            flat = c == target and not cycle_target
            n, k = traffic(rng, days, volumes[c], rates[c], shift_at if c == target else None, cycle=not flat)
            fired = looks(n, k, BASELINE + WINDOW)
            if c != target:
                clean.append((seed, c, episodes(fired)))
                continue
            early = [t for t in fired if t <= shift_at]
            after = [t for t in fired if t > shift_at]
            found = after[0] if after else None
            runs.append(
                {
                    "seed": seed, "category": CATEGORIES[c], "rate": rates[c], "shift_at": shift_at,
                    "false_before": episodes(early), "found": found,
                    "minutes": (found - shift_at) * STEP_MIN if found else None,
                    "requests": int(n[shift_at:found].sum()) if found else None, "n": n, "k": k,
                }
            )  # fmt: skip
    return runs, clean


def false_alarms(seeds: int, days: int) -> list[int]:
    """Alarm episodes per category over clean months."""
    out = []
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        for c, rate in enumerate(np.linspace(0.01, 0.05, len(CATEGORIES))):
            n, k = traffic(rng, days, float(rng.uniform(300, 3000)) if c else 2000, float(rate), None)
            out.append(episodes(looks(n, k, BASELINE + WINDOW)))
    return out


def fresh_services(folder: Path) -> Services:
    """A service on a new SQLite file in ``folder``."""
    settings = load_settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'bench.db'}", config_file=folder / "none.toml",
        secret_key="bench-secret-key", scheduler=False,
    )  # fmt: skip
    return build_services(settings)


def rollup_row(bucket: int, requests: int, refusals: int, cohort: dict[str, str]) -> dict:
    """One minute aggregate with plausible token, cost and latency sums."""
    row = {d: cohort.get(d, "") for d in COHORT_DIMENSIONS}
    row.update(
        bucket=bucket, requests=requests, refusals=refusals, input_tokens=600 * requests, output_tokens=150 * requests,
        cached_tokens=0, cost_usd=0.0004 * requests, unknown_cost=0, errors=0, timeouts=0, retries=0,
        latency_count=requests, latency_sum_ms=1500.0 * requests, latency_hist="{}",
    )  # fmt: skip
    return row


def write_rollups(services: Services, rows_by_minute: list[dict]) -> None:
    """Insert minute rows and the hour rows summed from them, as ingest would have."""
    hours: dict[tuple, dict] = {}
    for r in rows_by_minute:
        key = (r["bucket"] // 3600 * 3600, *(r[d] for d in COHORT_DIMENSIONS))
        h = hours.get(key)
        if h is None:
            hours[key] = {**r, "bucket": key[0]}
        else:
            for f in rollups.SUMMED:
                h[f] += r[f]
    with services.db.write_session() as session:
        conn = session.connection()
        for table, rows in ((rollups.MINUTE, rows_by_minute), (rollups.HOUR, list(hours.values()))):
            for i in range(0, len(rows), 20_000):
                conn.execute(table.insert(), rows[i : i + 20_000])


def database_check(run: dict) -> str:
    """Write seed 0's shifted category as minute rollups and run the real detector around its detection."""
    with tempfile.TemporaryDirectory() as folder:
        services = fresh_services(Path(folder))
        cohort = {"tenant": "acme", "intent": run["category"], "category": run["category"], "model": "m"}
        rows = []
        rng = random.Random(0)
        for b, (n, k) in enumerate(zip(run["n"].tolist(), run["k"].tolist(), strict=True)):
            # spread each 5-minute bucket over its minutes, keeping the totals
            ns = [0] * STEP_MIN
            ks = [0] * STEP_MIN
            for _ in range(n):
                ns[rng.randrange(STEP_MIN)] += 1
            for _ in range(k):
                m = rng.choice([i for i in range(STEP_MIN) if ns[i] > ks[i]])
                ks[m] += 1
            base = int(START.timestamp()) + b * STEP_MIN * 60
            rows += [rollup_row(base + 60 * m, ns[m], ks[m], cohort) for m in range(STEP_MIN) if ns[m]]
        write_rollups(services, rows)
        at = START + timedelta(minutes=run["found"] * STEP_MIN)
        now_fires = [f.labels for f in shift.detect(services, at) if f.status == "firing"]
        before = shift.evaluate(services, at - timedelta(minutes=30), PARAMS)
        fired_before = [e.scope.key for e in before if is_shift(e.result, PARAMS, open_alarm=False)]
        services.close()
    earlier = ", ".join(fired_before) or "silent"
    return f"real detector on the database: fires at the detection look: {bool(now_fires)}; 30 min before: {earlier}"


def command_latency(total_requests: int, rounds: int) -> tuple[dict[str, float], float, int]:
    """p95 of /refusals variants over rollups of ``total_requests`` requests in 30 days."""
    rng = np.random.default_rng(7)
    cohorts = [
        {"tenant": t, "intent": c, "category": c, "model": m, "prompt_version": "support-v13", "path": "retrieval"}
        for c in CATEGORIES
        for t in ("acme", "globex", "initech")
        for m in ("gpt-4o-mini", "gpt-4o-mini-2026-11-20")
    ]
    minutes = 30 * 1440
    end = int(datetime(2026, 11, 26, tzinfo=UTC).timestamp())
    start = end - minutes * 60
    per_minute = total_requests / minutes / len(cohorts)
    rows = []
    for cohort in cohorts:
        n = rng.poisson(per_minute, minutes)
        k = rng.binomial(n, 0.03)
        rows += [rollup_row(start + 60 * int(i), int(n[i]), int(k[i]), cohort) for i in np.nonzero(n)[0]]
    stored = sum(r["requests"] for r in rows)
    with tempfile.TemporaryDirectory() as folder:
        services = fresh_services(Path(folder))
        began = time.perf_counter()
        write_rollups(services, rows)
        _write_last_day_requests(services, end, stored // 30, rng)
        print(
            f"  built {len(rows):,} minute rollup rows for {stored:,} requests in {time.perf_counter() - began:.0f} s"
        )
        now = datetime.fromtimestamp(end, UTC)
        variants = ["", "billing", "billing 24h by model", "7d", "billing 7d by tenant", "1h by prompt_version"]
        timings: dict[str, list[float]] = {v: [] for v in variants}
        cpu: list[float] = []
        for r in range(rounds + 1):
            for v in variants:
                t0, c0 = time.perf_counter(), time.process_time()
                reply = command.handle(services, CommandRequest("/refusals", v, "U0BENCH", "C0BENCH", now))
                if r:  # the first round warms caches (matplotlib fonts, SQLite pages)
                    timings[v].append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
                assert reply.uploads and reply.card.problems() == []
        services.close()
    p95 = {v or "(none)": _p95(ms) for v, ms in timings.items()}
    every = [m for ms in timings.values() for m in ms]
    return p95, (_p95(every), statistics.median(every), _p95(cpu)), stored


def _write_last_day_requests(services: Services, end: int, count: int, rng: np.random.Generator) -> None:
    rules = np.array(["none", "pattern:cannot_help", "finish_reason:content_filter", "client_flag"])
    rows = []
    for i in range(count):
        refused = bool(rng.random() < 0.03)
        rows.append(
            {
                "tenant": "acme", "request_id": f"r{i}", "ts_ms": (end - 86400) * 1000 + i * 86_400_000 // count,
                "received_ms": 0, "category": CATEGORIES[i % 10], "intent": CATEGORIES[i % 10], "path": "retrieval",
                "prompt_version": "support-v13", "model": "gpt-4o-mini", "cost_source": "price_table",
                "refused": refused, "refusal_rule": str(rules[1 + i % 3] if refused else rules[0]), "api_key_id": "",
            }
        )  # fmt: skip
    from storage.models import LLMRequest

    with services.db.write_session() as session:
        conn = session.connection()
        for i in range(0, len(rows), 20_000):
            conn.execute(LLMRequest.__table__.insert(), rows[i : i + 20_000])


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main() -> None:
    """Run the three parts and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds and 1 million requests")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--cycle-target", action="store_true", help="give the shifting category the daily cycle too (nights at 1/4)"
    )
    parser.add_argument("--launch", action="store_true", help="only the young-history part (issue 16)")
    args = parser.parse_args()
    seeds, total = (3, 1_000_000) if args.quick else (args.seeds, args.requests)
    if args.launch:
        from refusal_young import launch

        launch(seeds)
        return
    print(
        f"refusal shift: {seeds} seeds x {args.days} days x {len(CATEGORIES)} categories, looks every {STEP_MIN} min,"
    )
    print(f"  CUSUM ratio {PARAMS.ratio}, threshold {PARAMS.threshold}, window 24 h, baseline 7 d")
    began = time.perf_counter()
    runs, clean = detection(seeds, args.days, cycle_target=args.cycle_target)
    for r in runs:
        when = START + timedelta(minutes=r["shift_at"] * STEP_MIN)
        found = f"{r['minutes']} min, {r['requests']:,} requests" if r["found"] else "NOT DETECTED"
        print(
            f"  seed {r['seed']}: {r['category']:<16} base {r['rate']:.1%} doubled {when:%m-%d %H:%M} -> detected "
            f"after {found}; false alarms before it: {r['false_before']}"
        )
    minutes = [r["minutes"] for r in runs if r["minutes"] is not None]
    reqs = [r["requests"] for r in runs if r["requests"] is not None]
    print(f"detection delay: median {statistics.median(minutes):.0f} min, max {max(minutes)} min; ", end="")
    print(f"median {statistics.median(reqs):,.0f} requests, max {max(reqs):,}; detected {len(minutes)}/{len(runs)}")
    within = sum(1 for m in minutes if m <= 120)
    within_reqs = sum(1 for n in reqs if n <= 4000)
    print(f"  within 2 h: {within}/{len(runs)}; within 4,000 requests (2 h at 2,000/h): {within_reqs}/{len(runs)}")
    fa = false_alarms(seeds, args.days)
    other = sum(e for *_, e in clean)
    print(
        f"false alarms on clean traffic: {sum(fa)} in {len(fa)} category-months (and {other} in the {len(clean)} "
        f"unshifted categories of the detection runs); simulated in {time.perf_counter() - began:.0f} s"
    )
    print(database_check(runs[0]))
    print(f"/refusals latency over {total:,} requests (rollup rows written directly, SQLite):")
    p95s, (overall, median, cpu), stored = command_latency(total, 5 if args.quick else args.rounds)
    for v, ms in p95s.items():
        print(f"  /refusals {v:<24} p95 {ms:6.1f} ms")
    print(f"/refusals over all variants, chart included: p95 {overall:.1f} ms, median {median:.1f} ms wall clock;")
    print(
        f"  p95 {cpu:.1f} ms of CPU time (unaffected by other load; load average {os.getloadavg()[0]:.1f} on ", end=""
    )
    print(f"{os.cpu_count()} cores); {stored:,} requests; goal <= 300 ms")


if __name__ == "__main__":
    main()
