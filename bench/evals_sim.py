"""Eval divergence and coverage on simulated launches, and /evals latency at 1M requests and 100k feedback.

Run: python bench/evals_sim.py             (20 seeds, then /evals over 1M requests and 100k feedback items)
     python bench/evals_sim.py --quick     (5 seeds, 200k requests, 20k feedback items)

1. Detection: per seed, a fresh SQLite database and a launch one week old with four intents. An offline
   suite ran at launch with 40-60 cases per intent, 90-95% of them passing, for three intents; the
   fourth has no cases. Every request is logged through the real ingest path; about a third get a thumbs up or down
   (about 90% positive for three intents, about 55% for one of the covered ones: the weak intent), sent
   through the feedback service. ``afterlaunch detect --json --dry-run --at T`` (every installed
   detector) runs at days 1, 2, 3, 5 and 7 after launch. A wrong card is any finding other than
   eval_divergence for the weak intent and eval_coverage for the uncovered one; a miss is either of
   those two absent at day 7.
2. /evals latency: 1M request rows over 12 weeks (8 intents, 3 tenants, 2 prompt versions) with their
   hourly rollups, 100k feedback items (1% arriving before their request, so joined at query time),
   5k labels, two suites run weekly, and an open batch, written directly into a fresh SQLite database;
   then /evals, /evals 12w and /evals <intent> run N times each, chart included. Prints p50/p95.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from bot.config import FileConfig, load_settings
from bot.evals import signals
from bot.ingest.service import Writer, ingest
from bot.services import Services, build_services
from storage import keys as key_store

LAUNCH = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
INTENTS = ("billing", "refunds", "shipping", "account")
CHECK_DAYS = (1, 2, 3, 5, 7)


def fresh_services(folder: Path, file: FileConfig | None = None) -> Services:
    settings = load_settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'afterlaunch.db'}",
        config_file=folder / "afterlaunch.toml",
        secret_key="bench-secret-key",
        scheduler=False,
    )
    if file is not None:
        settings.file = file
    return build_services(settings)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def detect(services: Services, now: datetime) -> list[tuple[str, str]]:
    """(cause, intent) of every line ``afterlaunch detect --json --dry-run --at NOW`` prints for this database."""
    from click.testing import CliRunner

    from bot.__main__ import cli

    env = {
        "DATABASE_URL": services.settings.db_url,
        "AFTERLAUNCH_CONFIG": str(services.settings.data_dir / "none.toml"),
        "AFTERLAUNCH_SECRET_KEY": "bench-secret-key",
        "AFTERLAUNCH_DATA_DIR": str(services.settings.data_dir),
    }
    args = ["detect", "--json", "--dry-run", "--at", iso(now)]
    result = CliRunner().invoke(cli, args, env=env)
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    lines = [orjson.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return [(x["cause"], x["cohort"].get("intent", "")) for x in lines]


def simulate(seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    covered = list(INTENTS)
    uncovered = covered.pop(rng.randrange(len(covered)))
    weak = rng.choice(covered)
    with tempfile.TemporaryDirectory() as folder:
        services = fresh_services(Path(folder))
        with services.db.write_session() as session:
            key, _ = key_store.create_key(session=session, name="bench", tenant=None, scopes={"ingest"}, now=LAUNCH)
        cases = []
        for intent in covered:
            # The suite's result for the intent lies in 90-95%: that many of its 40-60 cases pass.
            n = rng.randint(40, 60)
            passed = set(rng.sample(range(n), round(rng.uniform(0.90, 0.95) * n)))
            cases += [{"case_id": f"{intent}-{i}", "intent": intent, "passed": i in passed} for i in range(n)]
        signals.store_run(services, {"suite": "golden", "started_at": iso(LAUNCH)}, cases, now=LAUNCH)
        per_day = {intent: rng.randint(60, 90) for intent in INTENTS}
        findings_by_day: dict[int, list[tuple[str, str]]] = {}
        for day in range(7):
            day_start = LAUNCH + timedelta(days=day)
            events, thumbs = [], []
            for intent in INTENTS:
                for i in range(per_day[intent]):
                    at = day_start + timedelta(seconds=rng.uniform(0, 86_000))
                    rid = f"{intent}-{day}-{i}"
                    events.append(
                        {"request_id": rid, "timestamp": iso(at), "tenant": "acme", "intent": intent,
                         "prompt_version": "v1", "model": "gpt-4o-mini", "response": "ok"}
                    )  # fmt: skip
                    if rng.random() < 0.33:
                        good = rng.random() < (0.55 if intent == weak else 0.90)
                        fb_at = at + timedelta(seconds=rng.uniform(5, 300))
                        thumbs.append({"request_id": rid, "score": 1 if good else -1, "timestamp": iso(fb_at)})
            end = day_start + timedelta(days=1)
            ingest(services.db, events, cfg=services.ingest, writer=Writer(key_id=None, tenant=None), now=end)
            signals.store_feedback(services, thumbs, key=key, now=end)
            if day + 1 in CHECK_DAYS:
                findings_by_day[day + 1] = detect(services, end)
        services.close()
    expected = {("eval_divergence", weak), ("eval_coverage", uncovered)}
    wrong = [(day, f) for day, fs in findings_by_day.items() for f in fs if f not in expected]
    missed = len(expected - set(findings_by_day[7]))
    first = {
        cause: next((d for d in CHECK_DAYS if (cause, intent) in findings_by_day[d]), None)
        for cause, intent in expected
    }
    return {"weak": weak, "uncovered": uncovered, "wrong": wrong, "missed": missed, "first": first}


def detection(seeds: int) -> None:
    started = time.perf_counter()
    results = [simulate(seed) for seed in range(seeds)]
    wrong = sum(len(r["wrong"]) for r in results)  # type: ignore[arg-type]
    for seed, r in enumerate(results):
        for day, (cause, intent) in r["wrong"]:  # type: ignore[attr-defined]
            where = f"weak {r['weak']}, uncovered {r['uncovered']}"
            print(f"  wrong card: seed {seed}, day {day}: {cause} on {intent} ({where})")
    missed = sum(int(r["missed"]) for r in results)
    firsts = Counter(f"{c}@day{d}" for r in results for c, d in dict(r["first"]).items())  # type: ignore[arg-type]
    print(f"detection: {seeds} seeds, {wrong} wrong card(s), {missed} missed at day 7 "
          f"({time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.2f})")  # fmt: skip
    print(f"  first seen: {dict(sorted(firsts.items()))}")


def build_big(services: Services, requests: int, feedback: int, now: datetime) -> None:
    """Rows written directly, as ingest would have left them (ingest speed is bench/ingest.py's subject)."""
    from storage import rollups
    from storage.evals_models import EvalBatch, EvalBatchItem, EvalFeedback, EvalLabel, EvalResult, EvalRun
    from storage.models import COHORT_DIMENSIONS, LLMRequest

    rng = random.Random(1)
    intents = [f"intent{k}" for k in range(8)]
    tenants = ["acme", "globex", "initech"]
    span_ms = 12 * 7 * 86_400_000
    end_ms = int(now.timestamp() * 1000)
    rows, hours = [], {}
    for i in range(requests):
        ts = end_ms - span_ms + i * span_ms // requests
        intent, tenant, pv = intents[i % 8], tenants[i % 3], f"v{1 + (i // 7) % 2}"
        rows.append(
            {"tenant": tenant, "request_id": f"r{i}", "ts_ms": ts, "received_ms": ts, "intent": intent,
             "category": intent, "path": "", "prompt_version": pv, "model": "gpt-4o-mini",
             "cost_source": "price_table", "api_key_id": ""}
        )  # fmt: skip
        hk = (ts // 3_600_000 * 3600, tenant, intent, pv)
        hours[hk] = hours.get(hk, 0) + 1
    hour_rows = []
    for (bucket, tenant, intent, pv), n in hours.items():
        row = {d: "" for d in COHORT_DIMENSIONS}
        row.update(tenant=tenant, intent=intent, category=intent, prompt_version=pv, model="gpt-4o-mini")
        row.update(
            bucket=bucket, requests=n, input_tokens=0, output_tokens=0, cached_tokens=0, cost_usd=0.0,
            unknown_cost=0, errors=0, timeouts=0, refusals=0, retries=0, latency_count=0, latency_sum_ms=0.0,
            latency_hist="{}",
        )  # fmt: skip
        hour_rows.append(row)
    fb = []
    step = max(1, requests // feedback)
    for j in range(feedback):
        i = j * step
        late = j % 100 == 0
        good = rng.random() < (0.6 if i % 8 == 3 else 0.9)
        at = rows[i]["ts_ms"] + 60_000
        fb.append(
            dict(
                tenant="" if late else tenants[i % 3],
                request_id=f"r{i}",
                user_key="",
                score=1 if good else -1,
                value=None,
                positive=good,
                neutral=False,
                comment=None,
                ts_ms=at,
                received_ms=at,
                intent=None if late else intents[i % 8],
                prompt_version=None if late else rows[i]["prompt_version"],
            )
        )
    labels = [
        dict(
            tenant=tenants[i % 3],
            request_id=f"r{i}",
            labeller=f"U0LAB{j % 4}",
            label="pass" if j % 5 else "fail",
            category=None if j % 5 else "wrong_answer",
            note=None,
            source="slack",
            ts_ms=rows[i]["ts_ms"] + 3_600_000,
            received_ms=rows[i]["ts_ms"] + 3_600_000,
            intent=intents[i % 8],
            prompt_version=rows[i]["prompt_version"],
        )
        for j, i in enumerate(range(0, requests, max(1, requests // 5000)))
    ]
    with services.db.write_session() as session:
        conn = session.connection()
        for table, data in (
            (LLMRequest.__table__, rows), (rollups.HOUR, hour_rows), (EvalFeedback.__table__, fb),
            (EvalLabel.__table__, labels),
        ):  # fmt: skip
            for k in range(0, len(data), 20_000):
                conn.execute(table.insert(), data[k : k + 20_000])
        for week in range(12):
            for suite in ("golden", "edge"):
                run = EvalRun(suite=suite, started_at_ms=end_ms - week * 7 * 86_400_000 - 3_600_000, received_at=now)
                session.add(run)
                session.flush()
                conn.execute(
                    EvalResult.__table__.insert(),
                    [{"run_id": run.id, "case_id": f"c{c}", "intent": intents[c % 7], "passed": c % 13 != 0,
                      "score": None} for c in range(200)],
                )  # fmt: skip
        batch = EvalBatch(created_at=now, window_start_ms=end_ms - 7 * 86_400_000, window_end_ms=end_ms, seed=1,
                          channel="C0LABEL01", items=80)  # fmt: skip
        session.add(batch)
        session.flush()
        session.add_all(
            [EvalBatchItem(batch_id=batch.id, position=p, row_id=requests - p, tenant=tenants[(requests - p) % 3],
                           request_id=f"r{requests - p}", intent=intents[(requests - p) % 8], prompt_version="v1")
             for p in range(1, 81)]
        )  # fmt: skip


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def latency(requests: int, feedback: int, rounds: int) -> None:
    from bot.evals.command import COMMAND
    from bot.slack.registry import CommandRequest

    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        services = fresh_services(Path(folder), FileConfig.model_validate({"evals": {"channel": "C0LABEL01"}}))
        started = time.perf_counter()
        build_big(services, requests, feedback, now)
        print(f"/evals data: {requests:,} requests, {feedback:,} feedback items written in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        for text in ("", "12w", "intent3"):
            times, cpu = [], []
            for _ in range(rounds):
                t, c = time.perf_counter(), time.process_time()
                reply = COMMAND.handler(services, CommandRequest("/evals", text, "U0ONCALL1", "C0OPS0001", now))
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)  # the work itself, whatever else runs on the cores
                assert reply.uploads and not reply.card.problems()
            print(f"  /evals {text or '(all, 4w)'}: wall p50 {_p(times, 0.5):.0f} ms, p95 {_p(times, 0.95):.0f} ms; "
                  f"CPU p95 {_p(cpu, 0.95):.0f} ms over {rounds} runs (goal p95 <= 300 ms; "
                  f"load {os.getloadavg()[0]:.2f})")  # fmt: skip
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 seeds, 200k requests, 20k feedback items")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--feedback", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.requests, args.feedback = 5, 200_000, 20_000
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    detection(args.seeds)
    if not args.skip_latency:
        latency(args.requests, args.feedback, args.rounds)


if __name__ == "__main__":
    main()
