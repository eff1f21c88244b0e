"""The demo's cost step: a runaway agent loop in one tenant, its alarm with attribution, and ``/cost``."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from bot.cards.terminal import to_terminal
from bot.demo.traffic import make_event
from bot.detectors import run_detectors
from bot.slack.registry import CommandRequest, run_command

if TYPE_CHECKING:
    from bot.demo.run import DemoContext


def cost_spike(ctx: DemoContext) -> None:
    """Send 20 minutes of an agent looping in acme through the real API, then detect and show /cost."""
    from bot.cost.command import COMMAND

    rng = random.Random(6)
    end = ctx.now.replace(second=0, microsecond=0)
    events = []
    for m in range(20, 0, -1):
        for i in range(25):
            ts = end - timedelta(minutes=m) + timedelta(seconds=rng.uniform(0, 59))
            e = make_event(rng, ts, tenant="acme")
            e.update(trace_id="t_demo_loop", session_id="s_acme_demo", agent_step=(20 - m) * 25 + i, intent="summarize")
            events.append(e)
    for i in range(0, len(events), 500):
        ctx.client.post("/v1/events", json={"events": events[i : i + 500]}).raise_for_status()
    click.echo(f"\n== Cost spike: {len(events)} agent-loop calls in tenant acme over 20 minutes ==")
    findings = run_detectors(ctx.services, end, only=["cost_burn"], dry_run=True)
    try:
        from bot.alerts.service import receive

        receive(ctx.services, [f.to_alert() for f in findings], end)
    except ImportError:
        click.echo("(the alert pipeline is not installed in this build: the findings are printed only)")
    for f in findings:
        click.echo(f"[{f.severity}] {f.title}")
        click.echo(f"  labels: {', '.join(f'{k}={v}' for k, v in sorted(f.labels.items()))}")
        click.echo(f"  {f.summary}")
        for label, value in f.figures:
            click.echo(f"    {label}: {value}")
        if f.sample_request_ids:
            click.echo(f"    sample requests: {', '.join(f.sample_request_ids)}")
    reply = run_command(ctx.services, COMMAND, CommandRequest("/cost", "by tenant 1h", "U0DEMO000", "C0DEMO000", end))
    click.echo("\n$ /cost by tenant 1h")
    click.echo(to_terminal({"blocks": reply.card.blocks}))
    for upload in reply.uploads:
        path = ctx.settings.data_dir / upload.filename
        path.write_bytes(upload.content)
        click.echo(f"chart: {path} ({len(upload.content):,} bytes PNG)")
    ctx.facts["cost_findings"] = len(findings)
