"""The launch matrix of bench/cost_sim.py (issue 16): young history x incident age x the six causes, and clean traffic.

    .venv/bin/python bench/cost_sim.py --launch [--quick]

Six tenants launch at a random time of day; after ``history`` days one of them (any with at least
5% of spend) gets a cause at 4x its spend: a leaked key is a new key, a prompt regression a new
prompt_version, a model upgrade a new model. Clean traffic is written as rollup rows; the victim's
requests from 70 minutes before the onset to 6 hours after it go through the real ingest. The real
``cost_burn`` detector runs through the detector kernel (alarm state, one card per incident,
its resolution after one quiet evaluation) every minute for the first 15 minutes, every 5 minutes
after (a quiet evaluation resolves the card, as in production), and at each age. Per history
and age it prints: detected (paged within 10 minutes of the onset and still firing at that age),
the right cause on the card at that age, how many cards the incident opened up to then, and pages
before the onset. Clean traffic: the same
histories with no incident, the detector every minute over the six hours after the history (and, for
the youngest, from five minutes after the launch).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from cost_sim_world import DAY, build_world, inject, normal_events, write_world

from bot.cost.attribution import CAUSES
from bot.detectors import run_detectors
from bot.ingest.pricing import PriceTable
from bot.ingest.service import Writer, ingest

START = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())
TENANTS = tuple(f"t{i:02d}" for i in range(6))
PER_MINUTE = 40.0
HISTORIES = (0.5, 1.0, 2.0, 4.0, 8.0)
AGES = (5, 12, 45, 120, 360)
DETECT_MIN = 10
REF_S = 70 * 60


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _at(onset: int, age: int) -> int:
    """The detector's first minute at or after ``age`` minutes past the onset."""
    return -(-(onset + 60 * age) // 60) * 60


def _times(onset: int, ages: tuple[int, ...]) -> list[int]:
    """Minutes the detector runs at: each minute around the onset, then every 5, and at every age."""
    m0 = onset // 60 * 60
    out = {m0 + 60 * m for m in range(-5, 16)}
    out |= {m0 + 60 * m for m in range(20, max(ages) + 1, 5)}
    out |= {_at(onset, a) for a in ages}
    return sorted(out)


def run_incident(
    open_db: Any, history: float, cause: str, seed: int, prices: PriceTable, calib: dict, ages: tuple[int, ...]
) -> dict[str, Any]:
    """One incident: returns when it paged, and per age whether its card fires, with which cause, how many cards."""
    rng = random.Random(f"launch:{history}:{cause}:{seed}")
    launch = START + rng.randrange(24) * 3600  # hourly rollups are whole hours from the launch hour
    onset = launch + int(history * DAY) + rng.randrange(60)
    end = onset + max(ages) * 60 + 60
    days = math.ceil((end + 3600 - launch) / DAY)
    world = build_world(seed, start=launch, days=days, per_minute=PER_MINUTE, calib=calib, tenants=TENANTS)
    shares = world.tenant_share()
    tenant = rng.choice(sorted(t for t, s in shares.items() if s >= 0.05))
    minute0 = onset // 60 * 60
    lo, hi = max(launch, minute0 - REF_S), end
    services = open_db(f"inc_{history}_{cause}_{seed}")
    try:
        with services.db.write_session() as session:
            write_world(session.connection(), world, minutes=(minute0 - 8 * 3600, hi + 3600), hole=(tenant, lo, hi))
        state = {"tenant": tenant, "model": world.models[tenant], "seed": seed}
        batch_all: list[dict[str, Any]] = []
        for m in range(lo, hi, 60):
            batch = normal_events(world, rng, tenant, m)
            if m + 60 > onset:
                after = [e for e in batch if datetime.fromisoformat(e["timestamp"]).timestamp() >= onset]
                before = [e for e in batch if e not in after]
                state.update(minute=m, **{"from": max(m, onset)})
                batch = before + inject(cause, after, rng=rng, prices=prices, state=state)
            batch_all += batch
            if len(batch_all) >= 2000:
                ingest(services.db, batch_all, cfg=services.ingest, writer=Writer(None, None), now=_dt(hi))
                batch_all = []
        if batch_all:
            ingest(services.db, batch_all, cfg=services.ingest, writer=Writer(None, None), now=_dt(hi))
        first_page, pre_pages, cards = None, 0, 0
        open_now: dict[str, str] = {}  # incident -> cause of its latest firing finding
        per_age: dict[int, dict[str, Any]] = {}
        at_age = {_at(onset, a): a for a in ages}
        for now_s in _times(onset, ages):
            found = run_detectors(services, _dt(now_s), only=["cost_burn"])
            pages = [f for f in found if f.status == "firing" and f.severity == "critical"]
            if now_s < onset:
                pre_pages += len(pages)
            for f in found:
                if f.status == "resolved":
                    open_now.pop(f.incident, None)
                    continue
                if f.incident not in open_now and now_s >= onset:
                    cards += 1  # a card opens (or opens again after it resolved): one more for this incident
                open_now[f.incident] = f.cause
            if now_s < onset:
                continue
            if pages and first_page is None:
                first_page = (now_s - onset) / 60
            if now_s in at_age:
                per_age[at_age[now_s]] = {"firing": bool(open_now), "causes": list(open_now.values()), "cards": cards}
        return {"tenant": tenant, "first_page": first_page, "pre_pages": pre_pages, "ages": per_age}
    finally:
        services.close()


def run_clean(open_db: Any, history: float, seed: int, calib: dict) -> tuple[int, int, list[str]]:
    """Clean traffic after ``history`` days: detector runs and pages over the next six hours (from launch if young)."""
    rng = random.Random(f"clean:{history}:{seed}")
    launch = START + rng.randrange(24) * 3600  # hourly rollups are whole hours from the launch hour
    lo = launch + int(history * DAY) if history >= 1 else launch + 5 * 60
    hi = launch + int(history * DAY) + 6 * 3600
    days = math.ceil((hi + 3600 - launch) / DAY)
    world = build_world(1000 + seed, start=launch, days=days, per_minute=PER_MINUTE, calib=calib, tenants=TENANTS)
    services = open_db(f"clean_{history}_{seed}")
    try:
        with services.db.write_session() as session:
            write_world(session.connection(), world, minutes=(lo - 8 * 3600, hi + 60))
        runs, paged = 0, []
        for now_s in range(lo // 60 * 60, hi, 60):
            runs += 1
            for f in run_detectors(services, _dt(now_s), only=["cost_burn"]):
                if f.status == "firing" and f.severity == "critical":
                    paged.append(f"{(now_s - launch) / 3600:.1f}h after launch: {f.title}")
        return runs, len(paged), paged
    finally:
        services.close()


_CONTEXT: dict[str, Any] = {}
"""What the worker processes share (inherited by fork): the database opener, prices and calibration."""


def _incident_task(task: tuple[float, int, str]) -> dict[str, Any]:
    history, seed, cause = task
    c = _CONTEXT
    r = run_incident(c["open_db"], history, cause, seed, c["prices"], c["calib"], AGES)
    r.update(history=history, seed=seed, cause=cause)
    ages = r["ages"]
    print(
        f"  history {history:g}d seed {seed} {cause:<19} {r['tenant']}: first page "
        + (f"{r['first_page']:.0f} min" if r["first_page"] is not None else "none")
        + "; causes by age "
        + " ".join(f"{a}:{','.join(ages[a]['causes']) or '-'}" for a in AGES if a in ages)
        + f"; cards {ages[max(AGES)]['cards'] if max(AGES) in ages else '?'}",
        flush=True,
    )
    return r


def _clean_task(task: tuple[float, int]) -> tuple[float, tuple[int, int, list[str]]]:
    history, seed = task
    return history, run_clean(_CONTEXT["open_db"], history, seed, _CONTEXT["calib"])


def launch_matrix(
    open_db: Any, *, seeds: int, quick: bool, jobs: int = 1, histories: tuple[float, ...] = HISTORIES
) -> None:
    """Run the matrix (in ``jobs`` processes) and print its table (markdown, ready for docs/benchmarks.md)."""
    from cost_sim_world import calibrate

    prices = PriceTable.load()
    _CONTEXT.update(open_db=open_db, prices=prices, calib=calibrate(prices))
    began = time.perf_counter()
    tasks = [(h, seed, cause) for h in histories for seed in range(seeds) for cause in CAUSES]
    clean_tasks = [(h, seed) for h in histories for seed in range(seeds)]
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            done = pool.map(_incident_task, tasks, chunksize=1)
            cleaned = pool.map(_clean_task, clean_tasks, chunksize=1)
    else:
        done = [_incident_task(t) for t in tasks]
        cleaned = [_clean_task(t) for t in clean_tasks]
    results: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for r in done:
        results[r["history"]].append(r)
    clean: dict[float, tuple[int, int, list[str]]] = {}
    for history, (runs, pages, lines) in cleaned:
        r0, p0, l0 = clean.get(history, (0, 0, []))
        clean[history] = (r0 + runs, p0 + pages, l0 + lines)
    for history, (runs, pages, lines) in clean.items():
        print(f"  clean {history:g}d: {runs} runs, {pages} pages" + "".join(f"\n    {x}" for x in lines[:5]))
    _table(results, clean, seeds, time.perf_counter() - began, quick)


def _table(results: dict, clean: dict, seeds: int, elapsed: float, quick: bool) -> None:
    n_causes = len(CAUSES)
    print(f"\nlaunch matrix: {seeds} seed(s) x {n_causes} causes per cell; {elapsed:.0f} s; load {os.getloadavg()}")
    print("| history | age | detected <= 10 min | right cause top-1 | cards per incident | false pages (clean) |")
    print("|---|---|---|---|---|---|")
    ok = True
    for history, rows in results.items():
        runs, pages, _ = clean[history]
        for age in AGES:
            n = len(rows)
            detected = sum(
                1
                for r in rows
                if r["first_page"] is not None and r["first_page"] <= DETECT_MIN and r["ages"][age]["firing"]
            )
            carded = [r for r in rows if r["ages"][age]["firing"]]
            right = sum(1 for r in carded if set(r["ages"][age]["causes"]) == {r["cause"]})
            cards = [r["ages"][age]["cards"] for r in rows if r["ages"][age]["cards"]]
            goal = 0.9 if history >= 1 else 0.8
            # At 5 minutes a 4x burn has only just reached the 2x page threshold: a card may not exist yet,
            # so detection there is judged by its 10-minute deadline and the cause over the cards that exist.
            det_ok = all(r["first_page"] is not None and r["first_page"] <= DETECT_MIN for r in rows)
            cell_ok = det_ok and (age < DETECT_MIN or detected == n)
            cell_ok = cell_ok and right >= goal * max(1, len(carded)) and all(c == 1 for c in cards) and pages == 0
            ok = ok and cell_ok
            print(
                f"| {history:g} d | {age} min | {detected}/{n} | {right}/{len(carded)} "
                f"({right / max(1, len(carded)):.0%}) | {max(cards, default=0)} max, "
                f"{sum(cards) / max(1, len(cards)):.2f} mean | {pages} in {runs} runs |"
            )
    pre = sum(r["pre_pages"] for rows in results.values() for r in rows)
    print(f"pages before an onset (false): {pre}")
    verdict = "MET" if ok and not pre else "MISSED"
    print(f"goals (0 false pages, detection <= 10 min, cause >= 90% / 80%, 1 card): {verdict}")
    if quick:
        print("(--quick: fewer seeds than the acceptance run)")
