"""``/cost``: spend by cohort with burn against budget and a burn chart; budgets; reconciliation."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.access import AccessChecker, slack_group_members
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cost.budgets import describe_cohort, list_budgets, parse_budget_args, parse_cohort
from bot.cost.cards import budgets_card, message_card, reconcile_card, report_card
from bot.cost.reconcile import compare
from bot.cost.report import WINDOWS, figures, query_spend
from bot.errors import UserError
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand
from storage import cost as store

USAGE = (
    "`/cost [by tenant|intent|prompt_version|model|key] [1h|24h|7d|30d] [tenant=X ...]`, "
    "`/cost budget set <usd> <day|month> [tenant=X ...]`, `/cost budget list`, "
    "`/cost budget remove <day|month> [tenant=X ...]`, `/cost reconcile [7d|30d]`"
)
DIMS = {
    "tenant": "tenant",
    "intent": "intent",
    "prompt_version": "prompt_version",
    "model": "model",
    "key": "api_key_id",
}
FILTERS = ("tenant", "intent", "prompt_version", "model", "key", "api_key_id")


def _fail(message: str) -> UserError:
    return UserError(f"{message}. Usage: {USAGE}")


def parse_report(text: str) -> tuple[str, str, dict[str, str]]:
    """``by <dim>``, a window and key=value filters, in any order; anything else is named and refused."""
    words = text.split()
    dim, window, rest = "tenant", "24h", []
    i = 0
    while i < len(words):
        w = words[i].lower()
        if w == "by":
            if i + 1 >= len(words):
                raise _fail("'by' needs a dimension: tenant, intent, prompt_version, model or key")
            choice = words[i + 1].lower()
            if choice not in DIMS:
                raise _fail(
                    f"'{words[i + 1][:40]}' is not a dimension; use tenant, intent, prompt_version, model or key"
                )
            dim, i = choice, i + 2
            continue
        if w in WINDOWS:
            window = w
        elif "=" in w:
            rest.append(words[i])
        else:
            raise _fail(f"'{words[i][:40]}' is not understood; windows are 1h, 24h, 7d and 30d")
        i += 1
    cohort = parse_cohort(rest, allowed=FILTERS, usage=f"Usage: {USAGE}")
    if "key" in cohort:
        if "api_key_id" in cohort:
            raise _fail("give key= or api_key_id=, not both")
        cohort["api_key_id"] = cohort.pop("key")
    return DIMS[dim], window, cohort


def report(services: Services, request: CommandRequest) -> CommandReply:
    """The spend view: query, then figures, then the card and its chart."""
    dim, window, cohort = parse_report(request.text)
    query = query_spend(services, dim=dim, window=window, cohort=cohort, now=request.now)
    card, chart = report_card(figures(query, request.now))
    return CommandReply(card=card, in_channel=True, uploads=[chart])


def _checker(services: Services) -> AccessChecker:
    if services.settings.local_mode:
        return AccessChecker(services)
    from bot.slack.client import web_client

    return AccessChecker(services, slack_group_members(web_client(services.settings)))


def budget_command(services: Services, request: CommandRequest, words: list[str]) -> CommandReply:
    """``budget set|remove`` (needs the budgets access, audited) and ``budget list``."""
    verb = words[0].lower() if words else "list"
    if verb == "list":
        with services.db.session() as session:
            budgets = list_budgets(services, session=session)
            audit = store.list_budget_audit(session=session, limit=5)
        lines = [
            {
                "at": a.at,
                "user_id": a.user_id,
                "action": a.action,
                "cohort": describe_cohort(json.loads(a.cohort)),
                "period": a.period,
                "old": "—" if a.old_usd is None else f"${a.old_usd:,.2f}",
                "new": "—" if a.new_usd is None else f"${a.new_usd:,.2f}",
            }
            for a in audit
        ]
        return CommandReply(card=budgets_card(budgets, lines))
    if verb not in ("set", "remove"):
        raise _fail(f"'budget {words[0][:40]}' is not a budget command; use set, remove or list")
    _checker(services).require(request.user_id, "budgets")
    if verb == "set":
        usd, period, cohort = parse_budget_args(words[1:])
        with services.db.write_session() as session:
            old = store.set_budget(
                session=session, cohort=cohort, period=period, usd=usd, user_id=request.user_id, now=request.now
            )
        was = "new" if old is None else f"was ${old:,.2f}"
        msg = f"Budget for {describe_cohort(cohort)} set to ${usd:,.2f} per {period} ({was})."
    else:
        if len(words) < 2 or words[1].lower() not in ("day", "month"):
            raise _fail("`budget remove` needs a period (day or month) and the cohort")
        cohort = parse_cohort(words[2:], allowed=("tenant", "intent", "prompt_version", "model"), usage=USAGE)
        with services.db.write_session() as session:
            gone = store.remove_budget(
                session=session, cohort=cohort, period=words[1].lower(), user_id=request.user_id, now=request.now
            )
        if not gone:
            raise UserError(f"no budget set from Slack for {describe_cohort(cohort)} per {words[1].lower()}")
        msg = f"Budget for {describe_cohort(cohort)} per {words[1].lower()} removed."
    return CommandReply(card=message_card(msg), in_channel=True)


def reconcile_command(services: Services, request: CommandRequest, words: list[str]) -> CommandReply:
    """Per day and model: afterlaunch's cost against the provider's, flagged above the threshold."""
    if len(words) > 1 or (words and words[0].lower() not in ("7d", "30d")):
        raise _fail("`reconcile` takes one optional window: 7d or 30d")
    days = 30 if words and words[0].lower() == "30d" else 7
    threshold = services.settings.file.cost.finance_gap
    last = (request.now - timedelta(days=1)).strftime("%Y-%m-%d")
    first = (request.now - timedelta(days=days)).strftime("%Y-%m-%d")
    with services.db.session() as session:
        gaps = compare(session=session, first_day=first, last_day=last)
    shown = sorted(gaps, key=lambda g: (-(g.ratio > threshold), g.day, g.model))[:40]
    items = [
        {
            "day": g.day,
            "model": g.model,
            "ours": g.ours,
            "theirs": g.theirs,
            "diff": g.diff,
            "ratio": g.ratio,
            "flag": g.ratio > threshold,
        }
        for g in shown
    ]
    return CommandReply(card=reconcile_card(items, first=first, last=last, threshold=threshold), in_channel=True)


def handle(services: Services, request: CommandRequest) -> CommandReply:
    """Route ``/cost`` to the report, budgets or reconciliation."""
    words = request.text.split()
    first = words[0].lower() if words else ""
    if first == "help":
        return CommandReply(card=Card(text="/cost usage", blocks=[b.section(f"Usage: {USAGE}")]))
    if first == "budget":
        return budget_command(services, request, words[1:])
    if first == "reconcile":
        return reconcile_command(services, request, words[1:])
    return report(services, request)


COMMAND = SlashCommand(
    name="/cost",
    description="Spend by cohort against budgets, with a burn chart; budgets; reconciliation with finance",
    usage_hint="[by tenant|intent|prompt_version|model|key] [1h|24h|7d|30d] [tenant=X] | budget ... | reconcile",
    handler=handle,
)
