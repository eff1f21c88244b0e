"""Drills: rehearse the six incidents of the weeks after a launch, keep a scorecard, check readiness for them."""

from bot.capabilities import Capability
from bot.drill import cli, command, scorecard

CAPABILITY = Capability(
    name="drill",
    commands=[command.COMMAND],
    home_sections=[scorecard.home_section],
    cli=[cli.drill, cli.readiness_cmd],
)
