"""``afterlaunch canary create|list|revoke`` and ``afterlaunch audit isolation``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import orjson


@click.group("canary")
def canary() -> None:
    """Canary strings to plant in a tenant's documents, memory or system prompt."""


@canary.command("create")
@click.option("--tenant", required=True, help="the tenant whose data the canaries mark")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="print a JSON list instead of one per line")
def canary_create(tenant: str, count: int, as_json: bool) -> None:
    """Issue canaries; each is shown once, stored hashed, and scanned for in every event ingested after this returns."""
    from bot.__main__ import _settings
    from bot.services import build_services
    from storage import leaks as leak_store

    tenant = tenant.strip()
    if not tenant or len(tenant) > 128:
        raise click.BadParameter("give a tenant name of 1 to 128 characters", param_hint="--tenant")
    services = build_services(_settings(scheduler=False))
    try:
        with services.db.write_session() as session:
            raws = leak_store.create_canaries(session=session, tenant=tenant, count=count, now=datetime.now(UTC))
    finally:
        services.close()
    if as_json:
        click.echo(orjson.dumps(raws).decode())
    else:
        for raw in raws:
            click.echo(raw)
    click.echo(f"{count} canar{'y' if count == 1 else 'ies'} for {tenant}; shown once, stored hashed", err=True)


@canary.command("list")
def canary_list() -> None:
    """Canaries without their secrets."""
    from bot.__main__ import _settings
    from bot.services import build_services
    from storage import leaks as leak_store

    services = build_services(_settings(scheduler=False))
    try:
        with services.db.session() as session:
            rows = leak_store.list_canaries(session=session)
    finally:
        services.close()
    for c in rows:
        state = f"revoked {c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "active"
        click.echo(f"{c.id}\t{c.tenant}\t{c.prefix}…\tcreated {c.created_at:%Y-%m-%d %H:%M}\t{state}")


@canary.command("revoke")
@click.argument("canary_id", type=int)
def canary_revoke(canary_id: int) -> None:
    """Stop scanning for a canary (at once, in every process)."""
    from bot.__main__ import _settings
    from bot.services import build_services
    from storage import leaks as leak_store

    services = build_services(_settings(scheduler=False))
    try:
        with services.db.write_session() as session:
            found = leak_store.revoke_canary(session=session, canary_id=canary_id, now=datetime.now(UTC))
    finally:
        services.close()
    if found is None:
        raise click.ClickException(f"no canary with id {canary_id} (see `afterlaunch canary list`)")
    click.echo(f"revoked canary {canary_id} of {found.tenant}")


@click.group("audit")
def audit() -> None:
    """Audits of the AI feature itself."""


@audit.command("isolation")
@click.option("--target", required=True, help="base URL of the AI feature, e.g. http://127.0.0.1:8080")
@click.option("--template", "template", required=True, type=click.Path(path_type=Path), help="TOML request template")
@click.option("--tenants", default="audit-a,audit-b", show_default=True, help="comma-separated, at least two")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--json", "as_json", is_flag=True)
def audit_isolation(target: str, template: Path, tenants: str, rounds: int, concurrency: int, as_json: bool) -> None:
    """Drive two or more tenants through the feature and look for one tenant's canary in another's answers.

    Exit status: 0 clean, 1 crossover found, 2 the target could not be exercised.
    """
    from bot.leaks.audit import AuditError, load_template, run_audit
    from bot.leaks.report import report_text

    names = [t.strip() for t in tenants.split(",") if t.strip()]
    if len(set(names)) < 2:
        raise click.BadParameter("give at least two distinct tenants, e.g. acme,globex", param_hint="--tenants")
    try:
        tpl = load_template(template)
    except AuditError as exc:
        raise click.BadParameter(str(exc), param_hint="--template") from None
    report = run_audit(target, tpl, names, rounds=rounds, concurrency=concurrency)
    if as_json:
        click.echo(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(report_text(report))
    sys.exit(report.exit_code)
