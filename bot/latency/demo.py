"""Demo step: a fallback retrieval path grows past 10% of one intent; afterlaunch says it is now a main path."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from bot.cards.terminal import to_terminal
from bot.demo.traffic import make_event
from bot.detectors import run_detectors
from bot.latency.config import LatencyConfig
from bot.slack.registry import CommandRequest, run_command

if TYPE_CHECKING:
    from bot.demo.run import DemoContext

INTENT = "order_status"
FALLBACK = "deep_rag"
PER_MINUTE = 10
HOURS = 3
CLIMB_MINUTES = 100
LOW, HIGH = 0.03, 0.25
MEDIANS = {"fast_answer": 650.0, FALLBACK: 3400.0}


def share_at(minutes_ago: int) -> float:
    """The fallback's share: flat at 3%, then climbing to 25% over the last 100 minutes."""
    if minutes_ago >= CLIMB_MINUTES:
        return LOW
    return LOW + (HIGH - LOW) * (CLIMB_MINUTES - minutes_ago) / CLIMB_MINUTES


def fallback_events(now: datetime, seed: int = 17) -> list[dict[str, Any]]:
    """Three hours of one intent at 10 requests a minute, a growing part of it on the slow fallback path."""
    rng = random.Random(seed)
    events = []
    carry = 0.0
    for ago in range(HOURS * 60, 0, -1):
        want = share_at(ago) * PER_MINUTE + carry
        slow = math.floor(want)
        carry = want - slow
        for i in range(PER_MINUTE):
            ts = now - timedelta(minutes=ago) + timedelta(seconds=rng.uniform(0, 59))
            path = FALLBACK if i < slow else "fast_answer"
            e = make_event(rng, ts, tenant=rng.choice(("acme", "globex", "initech")))
            e.update(intent=INTENT, category=INTENT, path=path, status="ok")
            e.update(latency_ms=round(MEDIANS[path] * math.exp(rng.gauss(0, 0.4)), 1))
            events.append(e)
    return events


def fallback_growth(ctx: DemoContext) -> None:
    """Declare the fallback path, send the traffic through the real API, detect, show the card and /latency."""
    cfg = LatencyConfig(fallback_paths=[FALLBACK], budgets=[{"intent": INTENT, "p95_ms": 2500}])
    ctx.services.settings.file = ctx.services.settings.file.model_copy(update={"latency": cfg})
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    events = fallback_events(now)
    for i in range(0, len(events), 500):
        ctx.client.post("/v1/events", json={"events": events[i : i + 500]}).raise_for_status()
    click.echo(
        f"\n== Latency: {len(events):,} '{INTENT}' requests over {HOURS} h; the fallback path '{FALLBACK}' grew "
        f"from {LOW:.0%} to {HIGH:.0%} of them over the last {CLIMB_MINUTES} minutes "
        f'([latency] fallback_paths = ["{FALLBACK}"], a 2.5 s P95 budget on {INTENT}) =='
    )
    try:
        findings = run_detectors(ctx.services, now, only=["latency"])
    except ImportError:  # the alert pipeline is not installed: show the findings without cards
        findings = run_detectors(ctx.services, now, only=["latency"], dry_run=True)
    for f in findings:
        click.echo(f"\n[{f.severity}] {f.title}  (cause {f.cause}, runbook {f.runbook})")
        click.echo(f"  {f.summary}")
        for label, value in f.figures:
            click.echo(f"    {label}: {value}")
    if not findings:
        click.echo("\nlatency: no finding (unexpected in this demo)")
    reply = run_command(
        ctx.services, _command(), CommandRequest("/latency", f"{INTENT} 24h", "U0DEMO000", "C0DEMO000", now)
    )
    click.echo(f"\n$ /latency {INTENT} 24h\n{to_terminal(reply.card.to_message())}")
    for upload in reply.uploads:
        path = ctx.settings.data_dir / upload.filename
        path.write_bytes(upload.content)
        click.echo(f"chart: {path}")
    ctx.facts["latency_findings"] = findings


def _command() -> Any:
    from bot.latency.command import COMMAND

    return COMMAND
