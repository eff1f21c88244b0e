"""Channel management as Slack answers it: create (name rules, name_taken), invite, topic, pins, archive."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.fake_slack.records import SlackError
from tests.fake_slack.state import State

NAME_RULE = re.compile(r"^[a-z0-9_\-]+$")
"""Slack channel names: lowercase letters, digits, hyphens and underscores, at most 80 characters."""
MAX_NAME = 80
MAX_TOPIC = 250


@dataclass
class Channel:
    """A channel the bot created: who is in it, its topic, its pins, whether it is archived."""

    id: str
    name: str
    creator: str
    members: list[str] = field(default_factory=list)
    topic: str = ""
    pins: list[str] = field(default_factory=list)
    archived: bool = False


def _channels(state: State) -> dict[str, Channel]:
    if not hasattr(state, "created_channels"):
        state.created_channels = {}  # type: ignore[attr-defined]
    return state.created_channels  # type: ignore[attr-defined,no-any-return]


def _created(state: State, channel: Any) -> Channel:
    found = _channels(state).get(state.resolve_channel(channel))
    if found is None:
        raise SlackError("channel_not_found")
    if found.archived:
        raise SlackError("is_archived")
    return found


def create(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.create: a public channel with a valid, unused name; the creator joins it."""
    name = args.get("name")
    if not isinstance(name, str) or not name:
        raise SlackError("invalid_name_required")
    if len(name) > MAX_NAME:
        raise SlackError("invalid_name_maxlength")
    if not NAME_RULE.match(name):
        raise SlackError("invalid_name_specials")
    if name in state.channel_names:
        raise SlackError("name_taken")
    channel = Channel(id=state.new_id("C"), name=name, creator=state.identity.bot_user_id)
    channel.members.append(state.identity.bot_user_id)
    state.channel_names[name] = channel.id
    _channels(state)[channel.id] = channel
    return {"ok": True, "channel": {"id": channel.id, "name": name, "is_channel": True, "creator": channel.creator}}


def invite(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.invite: comma-separated users; all already members is already_in_channel."""
    channel = _created(state, args.get("channel"))
    users = args.get("users")
    if not isinstance(users, str) or not users.strip():
        raise SlackError("no_user")
    ids = [u.strip() for u in users.split(",") if u.strip()]
    if state.identity.bot_user_id in ids:
        raise SlackError("cant_invite_self")
    if any(not re.match(r"^[UW][A-Z0-9]+$", u) for u in ids):
        raise SlackError("user_not_found")
    new = [u for u in ids if u not in channel.members]
    if not new:
        raise SlackError("already_in_channel")
    channel.members.extend(new)
    return {"ok": True, "channel": {"id": channel.id, "name": channel.name}}


def set_topic(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.setTopic: at most 250 characters."""
    channel = _created(state, args.get("channel"))
    topic = args.get("topic")
    if not isinstance(topic, str):
        raise SlackError("invalid_arguments")
    if len(topic) > MAX_TOPIC:
        raise SlackError("too_long")
    channel.topic = topic
    return {"ok": True, "channel": {"id": channel.id, "topic": {"value": topic}}}


def pin(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """pins.add: a message of the channel, once."""
    channel = _created(state, args.get("channel"))
    state.find_message(channel.id, args.get("timestamp"))
    if args.get("timestamp") in channel.pins:
        raise SlackError("already_pinned")
    channel.pins.append(str(args.get("timestamp")))
    return {"ok": True}


def archive(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.archive: once."""
    channel = _created(state, args.get("channel"))
    channel.archived = True
    return {"ok": True}


METHODS = {
    "conversations.create": create,
    "conversations.invite": invite,
    "conversations.setTopic": set_topic,
    "pins.add": pin,
    "conversations.archive": archive,
}
