"""What this capability adds to the Bolt app, the scheduler and the App Home (gathered for the kernel)."""

from __future__ import annotations

from bot.incidents import command, oncall_command, slack
from bot.scheduler import Job

COMMANDS = [command.ALERTS, command.INCIDENT, oncall_command.ONCALL]
REGISTRARS = [slack.register]
JOBS: list[Job] = []
