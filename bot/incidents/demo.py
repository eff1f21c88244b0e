"""The demo step: an incident declared, updated, resolved, and its postmortem draft."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from bot.incidents import export, service

if TYPE_CHECKING:
    from bot.demo.run import DemoContext

DEMO_USER = "U0DEMOONCALL"
SHOWN_LINES = 30


def incident_scene(ctx: DemoContext) -> None:
    """/incident declare → channel, pinned card, topic; a status update; resolve; the postmortem draft."""
    from bot.alerts.demo import _drain

    click.echo("\n== An incident: /incident declare → its own channel, updates, resolution, postmortem ==")
    incident = service.declare(
        ctx.services, title="Assistant answers slow for acme", severity="sev2", user=DEMO_USER, now=datetime.now(UTC)
    )
    assert incident.id is not None
    _drain(ctx)
    service.assign_role(ctx.services, incident.id, "commander", DEMO_USER, DEMO_USER, datetime.now(UTC))
    service.post_status(ctx.services, incident.id, DEMO_USER, "Fallback model enabled; watching p95", datetime.now(UTC))
    service.resolve(ctx.services, incident.id, DEMO_USER, datetime.now(UTC))
    _drain(ctx)
    draft = export.postmortem(ctx.services, incident.id, datetime.now(UTC), "md").splitlines()
    click.echo(f"\nafterlaunch incident export {incident.id} (first {SHOWN_LINES} lines):")
    click.echo("\n".join(draft[:SHOWN_LINES]))
