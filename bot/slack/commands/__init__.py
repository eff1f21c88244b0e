"""Every slash command afterlaunch registers; the manifest is generated from this list."""

from __future__ import annotations

from bot.slack.registry import SlashCommand


def all_commands() -> list[SlashCommand]:
    """``/afterlaunch`` first, then each installed capability's commands in the order of the list."""
    from bot.capabilities import installed
    from bot.slack.commands import afterlaunch

    return [afterlaunch.COMMAND, *(c for capability in installed() for c in capability.commands)]
