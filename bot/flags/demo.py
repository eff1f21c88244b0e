"""Demo step: a cost alarm's card kills one tenant's assistant; a real OpenFeature client sees it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

from bot.flags.blast import blast_radius
from bot.flags.service import Change, apply_change
from storage import flags as store
from storage import keys as key_store

if TYPE_CHECKING:
    from bot.demo.run import DemoContext

DEMO_USER = "U0DEMO0001"


def show_killswitch(ctx: DemoContext) -> None:
    """Kill ``assistant`` for the costliest tenant as from its cost alarm's card, then restore it."""
    services, now = ctx.services, datetime.now(UTC)
    tenant = "acme"
    with services.db.write_session() as session:
        store.upsert_config_flag(
            session=session,
            key="assistant",
            description="The AI assistant in the help widget",
            owner="",
            require_second_approver=False,
            now=now,
        )
        store.bump_version(session=session)
        _, raw = key_store.create_key(session=session, name="demo-flags", tenant=None, scopes={"flags"}, now=now)
    api.set_provider(
        OFREPProvider(str(ctx.client.base_url), headers_factory=lambda: {"Authorization": f"Bearer {raw}"}),
        "afterlaunch-demo",
    )
    client = api.get_client("afterlaunch-demo")

    def runs(who: str) -> bool:
        return client.get_boolean_value("assistant", True, EvaluationContext(attributes={"tenant": who}))

    click.echo("\n== Kill switch (OpenFeature over OFREP) ==")
    click.echo(f"before: assistant for acme={runs('acme')}, globex={runs('globex')}")
    blast = blast_radius(services, [{"tenant": tenant}], now)
    change = Change(
        flag="assistant",
        action="kill",
        scope={"tenant": tenant},
        reason="cost alarm: acme's spend is 4x its usual hour",
        actor=DEMO_USER,
        source="card",
        card_key=f"demo-cost-alarm:{tenant}",
    )
    began = time.perf_counter()
    outcome = apply_change(services, change, approver="", now=now)
    seen = runs(tenant)
    served_ms = (time.perf_counter() - began) * 1000
    click.echo(
        f"killed from the cost alarm's card for tenant={tenant} (blast radius: {blast.request_share:.1%} of last hour's"
        f" requests, {blast.cost_share:.1%} of spend); version {outcome.version}"
    )
    click.echo(f"after:  assistant for acme={seen}, globex={runs('globex')}  (toggle to served: {served_ms:.0f} ms)")
    restore = Change("assistant", "restore", {"tenant": tenant}, "spend back to normal", DEMO_USER, source="card")
    apply_change(services, restore, approver="", now=datetime.now(UTC))
    click.echo(f"restored: assistant for acme={runs('acme')}; `/killswitch history assistant` lists both changes")
    ctx.facts.update(killswitch_off=not seen, killswitch_ms=served_ms)
    api.clear_providers()
