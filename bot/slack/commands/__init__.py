"""Every slash command afterlaunch registers; the manifest is generated from this list."""

from __future__ import annotations

from bot.slack.registry import SlashCommand


def all_commands() -> list[SlashCommand]:
    from bot.slack.commands import afterlaunch

    return [afterlaunch.COMMAND]
