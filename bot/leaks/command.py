"""``/audit isolation <target>``: run a configured isolation audit from Slack (responders only)."""

from __future__ import annotations

from bot.access import AccessChecker, slack_group_members
from bot.cards.blocks import Card
from bot.errors import UserError
from bot.leaks.audit import AuditError, load_template, run_audit
from bot.leaks.report import report_blocks, report_text
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand

RESPONDERS = "responders"
USAGE = "/audit isolation <target>"


def _checker(services: Services) -> AccessChecker:
    if services.settings.local_mode:
        return AccessChecker(services)
    from bot.slack.client import web_client

    return AccessChecker(services, slack_group_members(web_client(services.settings)))


def handle(services: Services, request: CommandRequest) -> CommandReply:
    """Check the words and the access, run the audit against ``[audit.targets.<name>]``, post the report card."""
    words = request.text.split()
    targets = services.settings.file.audit.targets
    known = ", ".join(sorted(targets)) or "none configured: add [audit.targets.<name>] to afterlaunch.toml"
    if len(words) != 2 or words[0].lower() != "isolation":
        raise UserError(f"usage: `{USAGE}` (targets: {known})")
    _checker(services).require(request.user_id, RESPONDERS)
    target = targets.get(words[1])
    if target is None:
        raise UserError(f"no audit target '{words[1][:60]}'; known: {known}")
    path = target.template
    if not path.is_absolute():
        path = services.settings.config_file.parent / path
    try:
        template = load_template(path)
    except AuditError as exc:
        raise UserError(f"audit target '{words[1]}': {exc}") from None
    report = run_audit(target.url, template, target.tenants, rounds=target.rounds, concurrency=target.concurrency)
    text = report_text(report)
    return CommandReply(card=Card(text=text[:3000], blocks=report_blocks(report)), in_channel=True)


COMMAND = SlashCommand(
    name="/audit",
    description="Drive two tenants through the AI feature and look for crossovers (responders)",
    usage_hint="isolation <target>",
    handler=handle,
)
