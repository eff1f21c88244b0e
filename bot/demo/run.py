"""``afterlaunch demo``: the real service on SQLite, fed a synthetic week through the real API.

Each installed capability adds its scenes (``Capability.demo``); a scene gets the
running context and prints what a person would see.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import httpx
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.app import create_app
from bot.capabilities import installed
from bot.config import Settings, load_settings
from bot.demo.server import BackgroundServer
from bot.demo.traffic import TENANTS, generate
from bot.services import Services, build_services
from storage import keys as key_store
from storage import rollups

BATCH = 500
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass
class DemoContext:
    settings: Settings
    services: Services
    client: httpx.Client
    key: str
    now: datetime
    days: int
    per_day: int
    facts: dict[str, Any] = field(default_factory=dict)


def usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def send_week(ctx: DemoContext) -> None:
    """Send the synthetic traffic in batches of 500, then one batch again to show idempotency."""
    start = ctx.now - timedelta(days=ctx.days)
    events = list(generate(start, ctx.now, events_per_day=ctx.per_day, seed=11))
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    began = time.perf_counter()
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    for batch in batches:
        r = ctx.client.post("/v1/events", json={"events": batch})
        r.raise_for_status()
        for k in totals:
            totals[k] += r.json()[k]
    elapsed = time.perf_counter() - began
    answers = Counter(e["response"] for e in events)
    again = ctx.client.post("/v1/events", json={"events": batches[0]}).json()
    ctx.facts.update(
        totals,
        sent=len(events),
        batches=len(batches),
        rate=len(events) / elapsed,
        resent_duplicates=again["duplicates"],
        # An answer no other request gave, so a screenshot of it can only be this request.
        sample_id=next(e["request_id"] for e in reversed(events) if e["response"] and answers[e["response"]] == 1),
    )


def _row(stats: rollups.CohortStats) -> dict[str, Any]:
    t = stats.totals
    return {
        "requests": int(t["requests"]),
        "cost": usd(t["cost_usd"]),
        "errors": int(t["errors"]),
        "p50": stats.percentile(0.5) or 0,
        "p95": stats.percentile(0.95) or 0,
        "p99": stats.percentile(0.99) or 0,
    }


def show_summary(ctx: DemoContext) -> None:
    """What afterlaunch saw, read back from the rollups and the request API."""
    end = int(ctx.now.timestamp()) // 60 * 60 + 60
    start = end - ctx.days * 86400 - 3600
    with ctx.services.db.session() as session:
        tenants = rollups.list_cohorts(session=session, start=start, end=end, group_by=["tenant"], with_latency=True)
        paths = rollups.list_cohorts(session=session, start=start, end=end, group_by=["path"], with_latency=True)
        versions = rollups.list_cohorts(session=session, start=start, end=end, group_by=["prompt_version", "model"])
    total = sum(p.totals["requests"] for p in paths) or 1
    sample = ctx.client.get(f"/v1/requests/{ctx.facts['sample_id']}").json()
    text = TEMPLATES.get_template("summary.txt.j2").render(
        days=ctx.days,
        tenants=TENANTS,
        **ctx.facts,
        by_tenant=[{"name": s.cohort["tenant"], **_row(s)} for s in tenants],
        by_path=[
            {"name": s.cohort["path"], "share": 100 * s.totals["requests"] / total, **_row(s)}
            for s in sorted(paths, key=lambda s: -s.totals["requests"])
        ],
        by_version=[
            {
                "version": s.cohort["prompt_version"],
                "model": s.cohort["model"],
                "requests": int(s.totals["requests"]),
                "cost": usd(s.totals["cost_usd"]),
            }
            for s in sorted(versions, key=lambda s: (s.cohort["prompt_version"], s.cohort["model"]))
        ],
        sample={
            **sample,
            "cost": usd(sample["cost_usd"] or 0),
            "question": sample["prompt"]["messages"][-1]["content"],
            "docs": ", ".join(d["doc_id"] for d in sample["context"] or []),
            "answer": sample["response"] or "",
        },
    )
    click.echo(text)


def steps() -> list[Callable[[DemoContext], None]]:
    """The core's steps (send a week, show the summary), then each installed capability's scenes in order."""
    return [send_week, show_summary, *(scene for capability in installed() for scene in capability.demo)]


def run_demo(*, data_dir: Path | None, days: int, per_day: int) -> DemoContext:
    """Run every demo step against a live service on a fresh SQLite database."""
    folder = data_dir or Path(tempfile.mkdtemp(prefix="afterlaunch-demo-"))
    settings = load_settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'afterlaunch.db'}",
        config_file=folder / "afterlaunch.toml",
        slack_bot_token=None,
        webhook_token="demo-webhook-token",
    )
    click.echo(f"afterlaunch demo: local mode (no Slack token), data in {folder}")
    services = build_services(settings)
    with services.db.write_session() as session:
        _, raw_key = key_store.create_key(
            session=session, name="demo", tenant=None, scopes={"ingest", "read"}, now=datetime.now(UTC)
        )
    with BackgroundServer(create_app(settings, services=services)) as server:
        click.echo(f"service listening on {server.url}\n")
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {raw_key}"}, timeout=60) as client:
            ctx = DemoContext(settings, services, client, raw_key, datetime.now(UTC), days, per_day)
            for step in steps():
                step(ctx)
    services.close()
    return ctx
