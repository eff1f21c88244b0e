"""Triage: from a screenshot, a request id or a quote to the request, its triple and its blast radius."""

from bot.capabilities import Capability
from bot.triage import cli, demo, slack

CAPABILITY = Capability(
    name="triage",
    commands=[slack.COMMAND],
    listeners=[slack.register],
    cli=[cli.triage],
    demo=[demo.show_triage],
)
