"""The Slack app manifest, generated from what the code registers, so setup is one paste."""

from __future__ import annotations

from typing import Any

import yaml

from bot.slack.registry import SlashCommand

BOT_SCOPES = {
    "commands": "slash commands",
    "chat:write": "post and update cards",
    "usergroups:read": "resolve user groups in the [access] table",
    "files:read": "/triage downloads the pasted screenshot (files.info and the private URL)",
    "files:write": "/triage sends the replay bundle as a JSON file",
    "im:write": "/triage sends the replay bundle to the responder's direct messages",
    "app_mentions:read": "/triage reads screenshots posted in the triage channel with the bot mentioned",
    "channels:manage": "/incident creates the incident channel, invites responders, sets its topic, archives it",
    "pins:write": "/incident pins the incident card and its runbook in the incident channel",
    "reactions:read": "messages marked with the pin reaction join the incident timeline",
}
"""The smallest set the code needs, each with its reason; capabilities add the scopes they use."""
BOT_EVENTS = ["app_home_opened", "app_mention", "reaction_added"]
MESSAGE_SHORTCUTS: list[dict[str, str]] = [
    {
        "name": "Triage this",
        "callback_id": "triage_message",
        "description": "Find the logged AI request behind this screenshot",
    },
]
"""Message shortcuts ("Triage this"); capabilities add theirs."""


def build_manifest(commands: list[SlashCommand], *, url: str, socket_mode: bool = False) -> dict[str, Any]:
    """A manifest whose slash commands are exactly ``commands``, with request URLs under ``url``."""
    events_url = url.rstrip("/") + "/slack/events"
    slash = []
    for c in commands:
        entry: dict[str, Any] = {"command": c.name, "description": c.description[:100], "should_escape": False}
        if c.usage_hint:
            entry["usage_hint"] = c.usage_hint[:100]
        if not socket_mode:
            entry["url"] = events_url
        slash.append(entry)
    settings: dict[str, Any] = {
        "event_subscriptions": {"bot_events": BOT_EVENTS},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": socket_mode,
        "token_rotation_enabled": False,
    }
    if not socket_mode:
        settings["event_subscriptions"]["request_url"] = events_url
        settings["interactivity"]["request_url"] = events_url
    features: dict[str, Any] = {
        "app_home": {"home_tab_enabled": True, "messages_tab_enabled": False, "messages_tab_read_only_enabled": True},
        "bot_user": {"display_name": "afterlaunch", "always_online": True},
        "slash_commands": slash,
    }
    if MESSAGE_SHORTCUTS:
        features["shortcuts"] = [{**s, "type": "message"} for s in MESSAGE_SHORTCUTS]
    return {
        "display_information": {
            "name": "afterlaunch",
            "description": "On-call for the weeks after an AI launch: cost, screenshots, refusals, kill switches.",
            "background_color": "#1d3557",
        },
        "features": features,
        "oauth_config": {"scopes": {"bot": sorted(BOT_SCOPES)}},
        "settings": settings,
    }


def manifest_yaml(commands: list[SlashCommand], *, url: str, socket_mode: bool = False) -> str:
    return yaml.safe_dump(build_manifest(commands, url=url, socket_mode=socket_mode), sort_keys=False)
