"""Tenant-leak scan at ingest: false findings on clean traffic, planted leaks found, and its cost.

    python bench/leak_sim.py [--requests 1000000]

Six tenants whose prompts and answers mention their own names, domains and account ids,
each served its own documents plus a shared help centre, over three UTC days (so document
ownership is learned on the way). Every batch is ingested into two fresh SQLite databases
in turn, one with the scan and one without, through the same ``ingest`` function the event
API calls, so both see the same machine load; only ``ingest`` is timed. Then one leak of
each cause is planted and the ``tenant_leak`` groups a detector run one minute later would
see are printed. Goals: 0 findings on the clean traffic, every planted leak found with the
right two tenants, throughput with the scan >= 0.9x without.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.ingest.service import Writer, ingest
from bot.leaks.config import LeaksConfig, TenantFingerprint
from bot.leaks.detector import current_groups
from bot.services import Services, build_services
from storage import leaks as leak_store

BATCH = 500
TENANTS = {
    "acme": ("Acme Corp", "acme.com", "ACM"),
    "globex": ("Globex", "globex.io", "GLX"),
    "initech": ("Initech", "initech.net", "INI"),
    "umbrella": ("Umbrella Health", "umbrella-health.org", "UMB"),
    "hooli": ("Hooli", "hooli.xyz", "HOO"),
    "soylent": ("Soylent Foods", "soylent.co", "SOY"),
}
QUESTIONS = [
    "Why was I charged twice this month?",
    "How do I reset my password?",
    "Can I export my invoices as CSV?",
    "What does the premium plan include?",
    "My order has not arrived, where is it?",
    "How do I add a colleague to my workspace?",
]
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
SPAN = timedelta(days=3)


def fingerprints() -> dict[str, TenantFingerprint]:
    return {
        t: TenantFingerprint(identifiers=[name, domain], patterns=[rf"\b{code}-\d{{7}}\b"])
        for t, (name, domain, code) in TENANTS.items()
    }


def make_batch(i: int, n_batches: int) -> list[dict[str, Any]]:
    rng = random.Random(i)
    names = list(TENANTS)
    out = []
    for j in range(BATCH):
        k = i * BATCH + j
        t = names[rng.randrange(6)]
        name, domain, code = TENANTS[t]
        ts = START + SPAN * (k / (n_batches * BATCH))
        q = QUESTIONS[rng.randrange(len(QUESTIONS))]
        doc = f"kb-{names.index(t)}{rng.randrange(40):02d}"
        out.append(
            {
                "request_id": f"r{k}",
                "timestamp": ts.isoformat().replace("+00:00", "Z"),
                "tenant": t,
                "user_id": f"u{rng.randrange(5000)}",
                "prompt_version": "support-v3",
                "model": "gpt-4o-mini",
                "path": "rag",
                "input_tokens": 900,
                "output_tokens": 180,
                "latency_ms": 900.0,
                "prompt": {
                    "system": f"You are the support assistant of {name}. Only answer about {name} products.",
                    "messages": [{"role": "user", "content": f"{q}\nMy account is {code}-{rng.randrange(10**7):07d}."}],
                },
                "context": [
                    {
                        "doc_id": doc,
                        "source": "kb",
                        "text": f"{name} policy: refunds go back to the card.",
                        "score": 0.8,
                    },
                    {
                        "doc_id": f"help-{rng.randrange(50)}",
                        "source": "help-center",
                        "text": "Generic help.",
                        "score": 0.5,
                    },
                ],
                "response": (
                    f"Thanks for contacting {name}! About your question: {q.lower()} "
                    f"You can find the details at https://{domain}/help or write to support@{domain}. "
                    "A second charge usually means a prorated upgrade; it is refunded within five days. "
                    "If anything is still unclear, reply here and a person from our team will follow up."
                ),
            }
        )
    return out


def services_for(folder: Path, *, scan: bool) -> Services:
    folder.mkdir(parents=True)
    settings = load_settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'afterlaunch.db'}",
        config_file=folder / "none.toml",
        secret_key="bench-secret-key-for-hashing",
        scheduler=False,
    )
    file = settings.file.model_copy(
        update={"tenants": fingerprints(), "leaks": LeaksConfig(shared_sources=["help-center"])}
    )
    services = build_services(settings.model_copy(update={"file": file}))
    if not scan:
        services.ingest = dataclasses.replace(services.ingest, hooks=())
    return services


CPU = {"plain": 0.0, "scan": 0.0}
"""CPU seconds of the timed calls, beside the wall clock: on a machine shared with other work the
wall clock also counts time spent waiting for a core."""


def timed_ingest(services: Services, events: list[dict[str, Any]], now: datetime) -> float:
    began, cpu = time.perf_counter(), time.thread_time()
    result = ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=now)
    elapsed = time.perf_counter() - began
    CPU["scan" if services.ingest.hooks else "plain"] += time.thread_time() - cpu
    assert result.accepted == len(events), result.errors[:3]
    return elapsed


def plant(services: Services, now: datetime) -> list[tuple[str, str, str]]:
    """One leak of each cause; returns the (cause, owner, receiver) a detector must report."""
    with services.db.write_session() as session:
        (canary,) = leak_store.create_canaries(session=session, tenant="acme", count=1, now=now)
    with services.db.session() as session:
        owned = {o.doc_id: o.tenant for o in leak_store.list_owners(session=session)}
    doc = next(d for d, t in sorted(owned.items()) if t == "initech")
    clean = make_batch(0, 1)
    base = {t: next(e for e in clean if e["tenant"] == t) for t in ("hooli", "soylent", "umbrella")}
    ts = now.isoformat().replace("+00:00", "Z")
    hooli, soylent, umbrella = (dict(base[t], timestamp=ts) for t in ("hooli", "soylent", "umbrella"))
    leaks = [
        dict(hooli, request_id="leak-canary", response=f"Hooli here. Your reference is {canary}."),
        dict(soylent, request_id="leak-ident", response="Soylent Foods here. As Globex told us, it is fine."),
        dict(umbrella, request_id="leak-doc", context=[{"doc_id": doc, "source": "kb", "text": "x"}]),
    ]
    timed_ingest(services, leaks, now)
    return [
        ("canary", "acme", "hooli"),
        ("identifier", "globex", "soylent"),
        ("foreign_document", "initech", "umbrella"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    n_batches = max(1, args.requests // BATCH)
    print(f"{n_batches * BATCH:,} requests of 6 tenants, batches of {BATCH}; load before {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="afterlaunch-leaks-") as tmp:
        plain, scanned = services_for(Path(tmp) / "plain", scan=False), services_for(Path(tmp) / "scan", scan=True)
        t_plain = t_scan = 0.0
        learning = [0.0, 0.0]  # the first UTC day, while document owners are still being counted
        now = START
        for i in range(n_batches):
            events = make_batch(i, n_batches)
            now = datetime.fromisoformat(events[-1]["timestamp"].replace("Z", "+00:00")) + timedelta(seconds=1)
            if i % 2:  # alternate who goes first, so neither always meets a warmer cache
                ts, tp = timed_ingest(scanned, events, now), timed_ingest(plain, events, now)
            else:
                tp, ts = timed_ingest(plain, events, now), timed_ingest(scanned, events, now)
            t_plain, t_scan = t_plain + tp, t_scan + ts
            if now < START + timedelta(days=1):
                learning[0], learning[1] = learning[0] + tp, learning[1] + ts
        n = n_batches * BATCH
        clean = current_groups(scanned, now + timedelta(minutes=1))
        with scanned.db.session() as session:
            owners = leak_store.list_owners(session=session)
        print(f"documents owned (learned from traffic): {len(owners)}")
        print(f"findings on clean traffic: {len(clean)} {[(g.cause, g.source_tenant, g.tenant) for g in clean][:5]}")
        expected = plant(scanned, now + timedelta(seconds=1))
        found = {(g.cause, g.source_tenant, g.tenant) for g in current_groups(scanned, now + timedelta(minutes=1))}
        for e in expected:
            print(f"planted {e[0]:<17} {e[1]} -> {e[2]}: {'FOUND' if e in found else 'MISSED'}")
        print(f"extra findings after planting: {sorted(found - set(expected))}")
        plain.close()
        scanned.close()
    print(f"ingest without scan: {n / t_plain:,.0f} events/s; with scan: {n / t_scan:,.0f} events/s")
    print(f"ratio: {t_plain / t_scan:.3f} (goal >= 0.9); load after {os.getloadavg()}")
    print(f"  CPU time only: ratio {CPU['plain'] / CPU['scan']:.3f}")
    rest = (t_plain - learning[0]) / (t_scan - learning[1]) if t_scan > learning[1] else float("nan")
    print(
        f"  while owners are being learned (first day): {learning[0] / max(learning[1], 1e-9):.3f}; after: {rest:.3f}"
    )


if __name__ == "__main__":
    main()
