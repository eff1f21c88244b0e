"""Steps for incidents whose capabilities come from other builds: latency, evals and tenant leaks.

They use only those capabilities' public interfaces (issues 17, 18, 19): ``POST /v1/events``
with ``path`` and ``latency_ms``, ``POST /v1/evals/results`` and ``POST /v1/feedback``, and
``afterlaunch canary create``. Each names its detector; when that detector is not installed
the runner reports it and does not inject.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.demo.traffic import make_event
from bot.drill import readiness
from bot.drill.steps import Injected, post_events
from bot.services import Services


def latency(client: httpx.Client, tenant: str, now: datetime, fallback: str | None) -> Injected:
    """A declared fallback path serving 3% of an intent for a day, then 35% over the last 90 minutes."""
    end = now.replace(second=0, microsecond=0)
    onset = end - timedelta(minutes=90)
    if fallback is None:
        return Injected(
            "latency",
            tenant,
            "latency",
            "fallback_share",
            "latency-fallback-path",
            onset,
            extra={"problem": "no fallback path declared in [latency] fallback_paths"},
        )
    rng = random.Random(37)
    intent = f"{tenant}-search"
    events = []
    t = end - timedelta(days=1)
    while t < end:
        share = 0.35 if t >= onset else 0.03
        for _ in range(20):
            e = make_event(rng, t + timedelta(seconds=rng.uniform(0, 299)), tenant=tenant)
            slow = rng.random() < share
            e.update(intent=intent, path=fallback if slow else "fast_answer")
            e.update(latency_ms=rng.randint(4000, 9000) if slow else rng.randint(300, 900))
            events.append(e)
        t += timedelta(minutes=5)
    post_events(client, [e for e in events if e["timestamp"] < end.isoformat().replace("+00:00", "Z")])
    return Injected("latency", tenant, "latency", "fallback_share", "latency-fallback-path", onset)


def evals(client: httpx.Client, tenant: str, now: datetime) -> Injected:
    """An intent the offline suite passes at 95% while its users give a thumbs up only half the time."""
    rng = random.Random(41)
    end = now.replace(second=0, microsecond=0)
    intent = f"{tenant}-answers"
    events = []
    for i in range(120):
        e = make_event(rng, end - timedelta(hours=48) + timedelta(minutes=24 * i), tenant=tenant)
        e.update(intent=intent)
        events.append(e)
    post_events(client, events)
    run = {"suite": tenant, "started_at": (end - timedelta(days=1)).isoformat()}
    results = [{"case_id": f"{tenant}-{i}", "intent": intent, "passed": i % 20 != 0} for i in range(100)]
    _post(client, "/v1/evals/results", {"run": run, "results": results})
    feedback = [
        {"request_id": e["request_id"], "score": 1 if i % 2 else -1, "timestamp": e["timestamp"]}
        for i, e in enumerate(events)
    ]
    _post(client, "/v1/feedback", {"feedback": feedback})
    # A week's figures, read at the wall clock once both signals are in: the divergence is a weekly metric.
    return Injected(
        "evals", tenant, "eval_divergence", "eval_divergence", "eval-drift", end, extra={"wall_clock": True}
    )


def leak(services: Services, client: httpx.Client, tenant: str, now: datetime) -> Injected:
    """Tenant a's canary shows up in an answer served to tenant b.

    The canary is made in the drill's own database, as ``afterlaunch canary create`` would make it: a
    separate process might read another configuration and plant it somewhere the service never scans.
    """
    owner, receiver = f"{tenant}-a", f"{tenant}-b"
    if readiness.section(services, "leaks") is None:
        return Injected(
            "leak", receiver, "tenant_leak", "canary", "tenant-leak", now, extra={"problem": "leaks is not installed"}
        )
    from storage.leaks import create_canaries

    with services.db.write_session() as session:
        [canary] = create_canaries(session=session, tenant=owner, count=1, now=now)
    rng = random.Random(43)
    e = make_event(rng, now, tenant=receiver)
    e.update(response=f"Your account reference is {canary}; let me know if anything else is needed.")
    post_events(client, [e])
    return Injected("leak", receiver, "tenant_leak", "canary", "tenant-leak", now, extra={"wall_clock": True})


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    r = client.post(path, json=body)
    if r.status_code >= 400:
        raise RuntimeError(f"POST {path} answered {r.status_code}: {r.text[:300]}")
