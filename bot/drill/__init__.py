"""Drills: rehearse the six incidents of the weeks after a launch, and check readiness for them."""

from bot.capabilities import Capability
from bot.drill import cli

CAPABILITY = Capability(name="drill", cli=[cli.drill, cli.readiness_cmd])
