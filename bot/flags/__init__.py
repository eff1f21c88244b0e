"""Kill switches: flags toggled from Slack with an audit trail, served over OpenFeature's OFREP."""

from bot.capabilities import Capability
from bot.flags import cli, demo, ofrep, slack

CAPABILITY = Capability(
    name="flags",
    commands=[slack.COMMAND],
    listeners=[slack.register],
    home_sections=[slack.home_section],
    routes=ofrep.routes,
    cli=[cli.flags],
    demo=[demo.show_killswitch],
)
