"""Demo step: a provider's "minor update" doubles refusals in one category; afterlaunch notices and explains."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import func
from sqlmodel import select

from bot.cards.terminal import to_terminal
from bot.demo.traffic import make_event
from bot.detectors import Finding, run_detectors
from bot.refusals import command, models_seen
from bot.slack.registry import CommandRequest, run_command
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.demo.run import DemoContext

CATEGORY = "refunds"
OLD = ("gpt-4o-mini", "fp_4c2a1e")
NEW = ("gpt-4o-mini-2026-11-20", "fp_9b7d03")
PER_HOUR = 150
DAYS = 4
UPDATE_HOURS_AGO = 9
BEFORE, AFTER = 0.03, 0.06
DECLINES = (
    "I'm sorry, but I can't help with refund requests.",
    "Unfortunately, I am unable to process that request.",
    "I can't assist with changing charges on your account. Please contact support.",
    "As an AI assistant, I cannot issue refunds or discuss refund eligibility.",
)


def refund_events(now: datetime, seed: int = 23) -> list[dict[str, Any]]:
    """Four days of one category at 150 an hour; the provider swaps the snapshot 9 hours ago, refusals double."""
    rng = random.Random(seed)
    update = now - timedelta(hours=UPDATE_HOURS_AGO)
    events = []
    t = now - timedelta(days=DAYS)
    while t < now - timedelta(minutes=1):
        for _ in range(int(PER_HOUR / 12 + rng.random())):
            ts = t + timedelta(seconds=rng.uniform(0, 299))
            model, fingerprint = NEW if ts >= update else OLD
            e = make_event(rng, ts, tenant=rng.choice(("acme", "globex", "initech")))
            e.update(intent="billing", category=CATEGORY, model=model, model_requested="gpt-4o-mini")
            e.update(provider="openai", system_fingerprint=fingerprint, status="ok", attempt=1)
            if rng.random() < (AFTER if ts >= update else BEFORE):
                # Most gateways report a refusal as a normal "stop": the answer's text decides.
                if rng.random() < 0.2:
                    e.update(response=None, finish_reason="content_filter", output_tokens=0)
                else:
                    e.update(response=rng.choice(DECLINES), finish_reason="stop")
            elif e["response"] is None:
                e.update(response="You can request a refund under Settings > Billing > Invoices.", finish_reason="stop")
            events.append(e)
        t += timedelta(minutes=5)
    return events


def provider_update(ctx: DemoContext) -> None:
    """Send the refund traffic through the real API, run both detectors, show the finding and /refusals."""
    now = datetime.now(UTC)
    # The first scan learns what the week's traffic was served by, quietly (nothing is "new" on day one).
    models_seen.scan(ctx.services, now, lag=timedelta(0))
    events = refund_events(now)
    for i in range(0, len(events), 500):
        ctx.client.post("/v1/events", json={"events": events[i : i + 500]}).raise_for_status()
    click.echo(
        f"\n== Refusals: {len(events):,} '{CATEGORY}' requests over {DAYS} days; {UPDATE_HOURS_AGO} h ago the provider "
        f"started serving {NEW[0]} ({NEW[1]}) in place of {OLD[0]}, and refusals went from {BEFORE:.0%} to {AFTER:.0%}"
    )
    look = datetime.now(UTC)
    models_seen.scan(ctx.services, look, lag=timedelta(0))  # every batch has returned: nothing is in flight
    findings = _detect(ctx, look)
    shifts = [f for f in findings if f.detector == "refusal_shift" and f.status == "firing"]
    for finding in shifts:
        click.echo(f"\nrefusal_shift finding: {finding.title}\n  started {finding.started_at:%Y-%m-%d %H:%M} UTC")
        for label, value in finding.figures:
            click.echo(f"  {label}: {value}")
    if not shifts:
        click.echo("\nrefusal_shift: no finding (unexpected in this demo)")
    _wait_for_outbox(ctx)  # the info card and the triage card print (local mode) before /refusals does
    reply = run_command(
        ctx.services, command.COMMAND, CommandRequest("/refusals", f"{CATEGORY} 24h by model", "U0DEMO", "C0DEMO", look)
    )
    click.echo(f"\n/refusals {CATEGORY} 24h by model\n{to_terminal(reply.card.to_message())}")
    folder = ctx.settings.data_dir
    for upload in reply.uploads:
        path = folder / upload.filename
        path.write_bytes(upload.content)
        click.echo(f"chart: {path}")
    ctx.facts["refusal_findings"] = shifts


def _wait_for_outbox(ctx: DemoContext, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with ctx.services.db.session() as session:
            pending = session.exec(select(func.count()).where(OutboxMessage.status == "pending")).one()
        if not pending:
            return
        time.sleep(0.2)


def _detect(ctx: DemoContext, now: datetime) -> list[Finding]:
    only = ["refusal_shift"]
    try:
        return run_detectors(ctx.services, now, only=only)
    except ImportError:  # the alert pipeline is not installed: show the findings without cards
        return run_detectors(ctx.services, now, only=only, dry_run=True)
