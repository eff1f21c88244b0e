"""Incidents and on-call: /alerts, incident channels with a timeline and postmortem, schedules, escalation."""

from bot.capabilities import Capability
from bot.incidents import alerts_view, cli, command, demo, jobs, oncall_command, slack
from bot.incidents.config import IncidentsConfig
from bot.incidents.setup import setup

CAPABILITY = Capability(
    name="incidents",
    jobs=jobs.JOBS,
    commands=[command.ALERTS, command.INCIDENT, oncall_command.ONCALL],
    listeners=[slack.register],
    home_sections=[alerts_view.home_section],
    cli=[cli.incident],
    demo=[demo.incident_scene],
    config={"incidents": IncidentsConfig},
    setup=setup,
)
