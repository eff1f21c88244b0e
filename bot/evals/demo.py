"""Demo step: the offline suite says every intent is fine; users say 'troubleshooting' is not, and the busiest
intent, 'billing', has no offline cases at all."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click
from sqlalchemy import select

from bot.cards.terminal import to_terminal
from bot.detectors import run_detectors
from bot.evals import command
from bot.slack.registry import CommandRequest, run_command
from storage.models import LLMRequest

if TYPE_CHECKING:
    from bot.demo.run import DemoContext

WEAK, UNCOVERED = "troubleshooting", "billing"
CASES = {"troubleshooting": 70, "account": 40, "summarize": 50}
PER_INTENT = 400


def offline_vs_users(ctx: DemoContext) -> None:
    """Send an offline run and a week of thumbs through the real APIs, then show the findings and /evals."""
    rng = random.Random(18)
    now = datetime.now(UTC)
    results = [
        {"case_id": f"{intent}-{i:03d}", "intent": intent, "passed": rng.random() < 0.93}
        for intent, n in CASES.items()
        for i in range(n)
    ]
    run = {"suite": "golden", "started_at": (now - timedelta(days=2)).isoformat(), "prompt_version": "support-v13"}
    ctx.client.post("/v1/evals/results", json={"run": run, "results": results}).raise_for_status()
    since = int((now - timedelta(days=7)).timestamp() * 1000)
    with ctx.services.db.session() as session:
        rows = session.execute(
            select(LLMRequest.request_id, LLMRequest.tenant, LLMRequest.intent, LLMRequest.ts_ms)
            .where(LLMRequest.ts_ms >= since)
            .order_by(LLMRequest.id)
        ).all()
    picked: dict[str, list] = {}
    for row in rows:
        if len(picked.setdefault(row.intent, [])) < PER_INTENT:
            picked[row.intent].append(row)
    feedback = [
        {
            "request_id": r.request_id,
            "tenant": r.tenant,
            "score": 1 if rng.random() < (0.55 if intent == WEAK else 0.9) else -1,
            "timestamp": datetime.fromtimestamp(r.ts_ms / 1000 + 120, UTC).isoformat(),
        }
        for intent, chosen in picked.items()
        for r in chosen
    ]
    for i in range(0, len(feedback), 1000):
        ctx.client.post("/v1/feedback", json={"feedback": feedback[i : i + 1000]}).raise_for_status()
    click.echo(
        f"\n== Evals: an offline suite of {len(results)} cases passes at about 93% ('{UNCOVERED}' has none); "
        f"{len(feedback):,} thumbs from users: about 90% up, but 55% for '{WEAK}'"
    )
    findings = run_detectors(ctx.services, now, only=["eval_divergence", "eval_coverage"], dry_run=True)
    for f in findings:
        click.echo(f"\n{f.cause} finding: {f.title}")
        for label, value in f.figures:
            click.echo(f"  {label}: {value}")
    reply = run_command(ctx.services, command.COMMAND, CommandRequest("/evals", "", "U0DEMO", "C0DEMO", now))
    click.echo(f"\n/evals\n{to_terminal(reply.card.to_message())}")
    for upload in reply.uploads:
        path = ctx.settings.data_dir / upload.filename
        path.write_bytes(upload.content)
        click.echo(f"chart: {path}")
    ctx.facts["eval_findings"] = findings
