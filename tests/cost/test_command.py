"""/cost: the report with its chart, argument validation, budgets from Slack with their audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cards.limits import check_payload
from bot.config import BudgetConfig
from bot.cost.command import COMMAND, parse_report
from bot.errors import UserError
from bot.services import Services
from bot.slack.registry import CommandRequest, run_command
from tests.cost.helpers import rollup_row, write_minutes

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def _req(text: str, user: str = "U0FINOPS1") -> CommandRequest:
    return CommandRequest(command="/cost", text=text, user_id=user, channel_id="C1", now=NOW)


def _text(reply: object) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in reply.card.blocks)  # type: ignore[attr-defined]


def _traffic(services: Services) -> None:
    end = int(NOW.timestamp())
    rows = []
    for t in range(end - 3 * 3600, end, 60):
        rows.append(rollup_row(t, 0.02, 2, tenant="acme", api_key_id="k-acme"))
        rows.append(rollup_row(t, 0.01, 1, tenant="globex", api_key_id="k-globex"))
    write_minutes(services, rows)


def test_report_renders_spend_budget_and_chart(services: Services) -> None:
    budget = BudgetConfig(cohort={"tenant": "acme"}, period="day", usd=20.0)
    services.settings.file = services.settings.file.model_copy(update={"budgets": [budget]})
    _traffic(services)
    reply = run_command(services, COMMAND, _req("by tenant 24h"))
    text = _text(reply)
    assert "*$5.40* spent on all traffic in the last 24h" in text
    assert "`acme` $3.60 (66.7%) · 0.2x budget pace, ends near $5.40" in text
    assert reply.in_channel and reply.uploads[0].filename == "cost.png"
    assert reply.uploads[0].content.startswith(b"\x89PNG")
    assert check_payload({"blocks": reply.card.blocks}, surface="message") == []

    scoped = run_command(services, COMMAND, _req("1h tenant=acme by key"))
    text = _text(scoped)
    assert "*$1.18* spent on tenant=acme in the last 1h" in text and "Budget $20.00 per day" in text
    assert "globex" not in text


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("by color", "'color' is not a dimension"),
        ("2w", "'2w' is not understood"),
        ("tenant=", "'tenant=' is not a key=value filter"),
        ("colour=red", "'colour' cannot scope this"),
        ("by", "'by' needs a dimension"),
        ("x" * 20000, "is not understood"),
    ],
)
def test_bad_arguments_are_named_with_the_usage(text: str, wrong: str) -> None:
    with pytest.raises(UserError) as err:
        parse_report(text)
    assert wrong in err.value.message and "/cost [by tenant" in err.value.message
    assert len(err.value.message) < 1000


def test_parse_report_defaults_and_key_alias() -> None:
    assert parse_report("") == ("tenant", "24h", {})
    assert parse_report("by key 7d key=k1") == ("api_key_id", "7d", {"api_key_id": "k1"})


def test_budget_set_needs_access_and_is_audited(services: Services) -> None:
    services.settings.file = services.settings.file.model_copy(update={"access": {"budgets": ["U0FINOPS1"]}})
    denied = run_command(services, COMMAND, _req("budget set 100 day tenant=acme", user="U0STRANGER"))
    assert "'budgets' access" in _text(denied)
    ok = run_command(services, COMMAND, _req("budget set $1,500 month tenant=acme"))
    assert "set to $1,500.00 per month (new)" in _text(ok)
    again = run_command(services, COMMAND, _req("budget set 2000 month tenant=acme"))
    assert "(was $1,500.00)" in _text(again)
    bad = run_command(services, COMMAND, _req("budget set lots month"))
    assert "'lots' is not an amount" in _text(bad)
    listing = run_command(services, COMMAND, _req("budget list"))
    text = _text(listing)
    assert "tenant=acme: $2,000.00 per month _(slack)_" in text and "$1,500.00 → $2,000.00" in text
    gone = run_command(services, COMMAND, _req("budget remove month tenant=acme"))
    assert "removed" in _text(gone)


def test_cards_pass_limits_with_huge_values(services: Services) -> None:
    end = int(NOW.timestamp())
    write_minutes(services, [rollup_row(end - 60 * i, 0.5, 1, tenant="t" * 120 + str(i)) for i in range(40)])
    reply = run_command(services, COMMAND, _req("by tenant 1h"))
    assert check_payload({"blocks": reply.card.blocks}, surface="message") == []
    reply = run_command(services, COMMAND, _req("by tenant 1h tenant=" + "y" * 20000))
    assert check_payload({"blocks": reply.card.blocks}, surface="message") == []
