"""The demo's /triage step: a screenshot drawn from one of the demo's own logged answers, triaged end to end."""

from __future__ import annotations

from typing import Any

import click

from bot.cards.terminal import to_terminal
from bot.triage.cards import outcome_card
from bot.triage.pipeline import triage_image
from bot.triage.screenshot import render_chat, to_jpeg


def show_triage(ctx: Any) -> None:
    """Render a dark-theme, JPEG-compressed chat screenshot of a logged answer and print the card it leads to."""
    sample = ctx.client.get(f"/v1/requests/{ctx.facts['sample_id']}").json()
    question = sample["prompt"]["messages"][-1]["content"] if sample.get("prompt") else None
    image = render_chat(question, sample["response"], style="dark", title="Help Assistant", timestamp=None)
    data = to_jpeg(image, 70)
    size = f"{image.width}×{image.height}"
    click.echo(f"\n/triage: a {size} screenshot of request {sample['request_id']} ({len(data):,} bytes JPEG)")
    outcome = triage_image(ctx.services, data, tenants=None, now=ctx.now)
    click.echo(to_terminal(outcome_card(outcome).to_message()))
    timings = ", ".join(f"{name} {ms:,.0f} ms" for name, ms in outcome.timings_ms.items())
    found = outcome.best.request.request_id if outcome.best else "nothing"
    click.echo(f"found {found} ({outcome.kind}); {timings}\n")
