"""Every registered command, run in a channel mapped to one tenant, shows nothing of another tenant.

The walk takes the command list from ``all_commands()``, so a command added later is walked
too; each is asked a spread of texts meant to pull other tenants in (``by tenant``,
``tenant=<other>``, the other tenant's request ids and answer text, budgets, help).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from bot.config import BudgetConfig, ChannelsConfig
from bot.ingest.service import Writer, ingest
from bot.scope import ALL_TENANTS, ScopeError, TenantScope, leaked_tenants
from bot.services import Services
from bot.slack.commands import all_commands
from bot.slack.registry import CommandReply, CommandRequest, run_command
from storage import cost as cost_store
from tests.ingest.factory import event

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
OURS, OTHER = "acmeco", "zebracorp"
OUR_CHANNEL, OPS_CHANNEL = "C0ACMECO1", "C0OPSALL1"
OTHER_COST = 111.11  # per event; 40 of them make $4,444.40, digits that only the other tenant's figures have
OTHER_ANSWER = "stripes are the answer for zebras only"

TEXTS = [
    "",
    "help",
    "list",
    "status",
    "by tenant",
    "by tenant 7d",
    "by tenant 30d",
    f"tenant={OTHER}",
    f"by intent tenant={OTHER}",
    "budget list",
    f"budget set 100 day tenant={OTHER}",
    f"budget remove day tenant={OTHER}",
    "reconcile",
    "savannah",
    "savannah by tenant",
    "by model",
    "req_zebra_00001",
    f'"{OTHER_ANSWER}"',
    f"status {OTHER}",
]


def _seed(services: Services) -> None:
    ts = (NOW - timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    events = []
    for i in range(40):
        events.append(event(request_id=f"req_acme_{i:05d}", tenant=OURS, timestamp=ts, intent="billing"))
        events.append(
            event(
                request_id=f"req_zebra_{i:05d}",
                tenant=OTHER,
                timestamp=ts,
                intent="savannah",
                category="savannah",
                cost_usd=OTHER_COST,
                response=OTHER_ANSWER if i % 2 else "I cannot help with that request.",
                finish_reason="content_filter" if i % 3 == 0 else "stop",
            )
        )
    result = ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=NOW)
    assert result.accepted == 80
    with services.db.write_session() as session:
        cost_store.set_budget(
            session=session, cohort={"tenant": OTHER}, period="month", usd=9876.0, user_id="U0FIN", now=NOW
        )
    file = services.settings.file.model_copy(
        update={
            "channels": ChannelsConfig(tenant_channels={OUR_CHANNEL: OURS, "C0ZEBRA01": OTHER}),
            "budgets": [BudgetConfig(cohort={"tenant": OTHER}, period="day", usd=555.0)],
            "access": {"budgets": ["U0ONCALL1"], "killswitch": ["U0ONCALL1"]},
        }
    )
    services.settings.file = file


def _shown(reply: CommandReply) -> str:
    parts = [orjson.dumps(reply.card.to_message()).decode()]
    parts += [f"{u.filename} {u.title}" for u in reply.uploads]
    return "\n".join(parts)


def _other_tenant_traces(text: str, asked: str) -> list[str]:
    """Marks of the other tenant in an answer, leaving out what the asker typed (echoed in refusals)."""
    marks = (OTHER, "req_zebra", "savannah", "stripes", "4,444", "4444", "111.11", "9,876", "555")
    found = [w for w in marks if w in text and w not in asked]
    if "withheld" in text:
        found.append("a reply withheld by the last-line guard (a query was not scoped)")
    return found


def test_every_command_in_a_tenant_channel_shows_only_that_tenant(services: Services) -> None:
    _seed(services)
    commands = all_commands()
    assert len(commands) >= 5
    leaks = []
    for command in commands:
        for text in TEXTS:
            req = CommandRequest(command.name, text, "U0ONCALL1", OUR_CHANNEL, NOW, scope=ALL_TENANTS)
            shown = _shown(run_command(services, command, req))
            traces = _other_tenant_traces(shown, text)
            if traces:
                leaks.append(f"{command.name} {text!r}: {traces}")
    assert leaks == [], "other tenants reached a tenant channel:\n" + "\n".join(leaks)


def test_the_same_commands_in_an_ops_channel_do_show_every_tenant(services: Services) -> None:
    """The walk above would pass for commands that show nothing; here the other tenant must appear."""
    _seed(services)
    by_name = {c.name: c for c in all_commands()}
    cost = run_command(services, by_name["/cost"], CommandRequest("/cost", "by tenant", "U0ONCALL1", OPS_CHANNEL, NOW))
    assert OTHER in _shown(cost) and "4,444" in _shown(cost)
    refusals = run_command(
        services, by_name["/refusals"], CommandRequest("/refusals", "by tenant", "U0ONCALL1", OPS_CHANNEL, NOW)
    )
    assert OTHER in _shown(refusals)
    listing = run_command(services, by_name["/cost"], CommandRequest("/cost", "budget list", "U1", OPS_CHANNEL, NOW))
    assert "9,876" in _shown(listing)


def test_asking_for_another_tenant_is_refused_with_the_reason(services: Services) -> None:
    _seed(services)
    by_name = {c.name: c for c in all_commands()}
    reply = run_command(
        services, by_name["/cost"], CommandRequest("/cost", f"tenant={OTHER}", "U0ONCALL1", OUR_CHANNEL, NOW)
    )
    assert f"only tenant '{OURS}'" in _shown(reply)


def test_scope_filters_and_the_guard() -> None:
    scope = TenantScope(OURS)
    assert scope.where({"intent": "x"}) == {"intent": "x", "tenant": OURS}
    with pytest.raises(ScopeError):
        scope.where({"tenant": OTHER})
    assert ALL_TENANTS.where({"tenant": OTHER}) == {"tenant": OTHER}
    assert leaked_tenants(scope, f"spend of {OTHER}: $3", [OURS, OTHER]) == [OTHER]
    assert leaked_tenants(scope, f"spend of {OTHER}x and {OURS}", [OURS, OTHER]) == []
    assert leaked_tenants(ALL_TENANTS, OTHER, [OTHER]) == []


def test_a_handler_called_without_run_command_has_no_scope() -> None:
    req = CommandRequest("/cost", "", "U1", OUR_CHANNEL, NOW)
    with pytest.raises(RuntimeError, match="run_command"):
        _ = req.tenant_scope
