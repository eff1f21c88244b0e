"""The drill's incidents: what each one injects, which detector must see it, and with what cause.

Each step sends synthetic traffic for one drill tenant through the running service's
``POST /v1/events`` (a day of quiet history, then the incident), and says which finding
would prove the alarm works. The runner (:mod:`bot.drill.run`) evaluates and scores.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.demo.traffic import make_event

HISTORY = timedelta(days=3)
BATCH = 500


@dataclass(frozen=True)
class Injected:
    """What a step sent: the tenant, when the incident began, and what a right card names."""

    incident: str
    tenant: str
    detector: str
    cause: str
    runbook: str
    onset: datetime
    category: str = ""
    sample_request_id: str = ""
    sample_answer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def post_events(client: httpx.Client, events: list[dict[str, Any]]) -> None:
    for i in range(0, len(events), BATCH):
        r = client.post("/v1/events", json={"events": events[i : i + BATCH]})
        if r.status_code >= 400:
            raise RuntimeError(f"POST /v1/events answered {r.status_code}: {r.text[:300]}")


def _history(rng: random.Random, tenant: str, start: datetime, end: datetime, per_hour: int) -> list[dict[str, Any]]:
    events = []
    t = start
    while t < end:
        for _ in range(per_hour):
            events.append(make_event(rng, t + timedelta(seconds=rng.uniform(0, 3599)), tenant=tenant))
        t += timedelta(hours=1)
    return [e for e in events if e["timestamp"] < end.isoformat().replace("+00:00", "Z")]


def cost(client: httpx.Client, tenant: str, now: datetime) -> Injected:
    """An agent loop: three days at 6 calls an hour, then 20 minutes of one trace calling 25 times a minute."""
    rng = random.Random(23)
    end = now.replace(second=0, microsecond=0)
    onset = end - timedelta(minutes=20)
    events = _history(rng, tenant, end - HISTORY, onset, per_hour=6)
    for m in range(20):
        for i in range(25):
            e = make_event(rng, onset + timedelta(minutes=m, seconds=rng.uniform(0, 59)), tenant=tenant)
            e.update(trace_id=f"t_{tenant}_loop", session_id=f"s_{tenant}_loop", agent_step=m * 25 + i)
            e.update(intent=f"{tenant}-agent")  # its own intent: a real intent's alarm cannot absorb it
            events.append(e)
    post_events(client, events)
    return Injected("cost", tenant, "cost_burn", "runaway_agent_loop", "cost-runaway-agent-loop", onset)


DECLINE = "I'm sorry, but I can't help with that request."


def refusals(client: httpx.Client, tenant: str, now: datetime) -> Injected:
    """A provider swaps the model snapshot 6 hours ago: refusals in one category go from 3% to 25%, traffic triples."""
    rng = random.Random(29)
    end = now.replace(second=0, microsecond=0)
    onset = end - timedelta(hours=6)
    category = f"{tenant}-billing"
    events = []
    t = end - HISTORY
    while t < end - timedelta(minutes=1):
        for _ in range(30 if t >= onset else 10):
            ts = t + timedelta(seconds=rng.uniform(0, 299))
            after = ts >= onset
            e = make_event(rng, ts, tenant=tenant)
            model, fingerprint = ("drill-model-new", "fp_drill_new") if after else ("drill-model", "fp_drill")
            e.update(intent="billing", category=category, model=model, model_requested="drill-model")
            e.update(provider="openai", system_fingerprint=fingerprint, status="ok", attempt=1)
            if rng.random() < (0.25 if after else 0.03):
                e.update(response=DECLINE, finish_reason="stop")
            elif e["response"] is None:
                e.update(response="Your invoice is under Settings > Billing.", finish_reason="stop")
            events.append(e)
        t += timedelta(minutes=5)
    post_events(client, events)
    return Injected("refusals", tenant, "refusal_shift", "provider_model_update", "refusal-shift", onset, category)


def screenshot(client: httpx.Client, tenant: str, now: datetime) -> Injected:
    """A day of traffic with one odd answer; the user's screenshot of it must lead /triage to that request."""
    rng = random.Random(31)
    end = now.replace(second=0, microsecond=0)
    events = _history(rng, tenant, end - timedelta(days=1), end - timedelta(minutes=5), per_hour=8)
    odd = events[-3]
    odd["response"] = f"Our refund window for {tenant} orders is 400 days, and shipping to Mars is free this week."
    post_events(client, events)
    return Injected(
        "screenshot",
        tenant,
        "triage",
        "screenshot_match",
        "screenshot-report",
        end - timedelta(minutes=5),
        sample_request_id=odd["request_id"],
        sample_answer=odd["response"],
    )
