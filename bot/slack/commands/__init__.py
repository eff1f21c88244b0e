"""Every slash command afterlaunch registers; the manifest is generated from this list."""

from __future__ import annotations

from bot.slack.registry import SlashCommand


def all_commands() -> list[SlashCommand]:
    from bot.cost import command as cost_command
    from bot.evals import command as evals_command
    from bot.flags import slack as killswitch
    from bot.refusals import command as refusals
    from bot.slack.commands import afterlaunch
    from bot.triage import slack as triage

    return [
        afterlaunch.COMMAND,
        killswitch.COMMAND,
        refusals.COMMAND,
        cost_command.COMMAND,
        triage.COMMAND,
        evals_command.COMMAND,
    ]
