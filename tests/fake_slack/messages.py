from __future__ import annotations

from typing import Any

from tests.fake_slack.blocks import MESSAGE_MAX_BLOCKS, check_blocks
from tests.fake_slack.records import Message, SlackError
from tests.fake_slack.state import State

MAX_TEXT = 40_000
MAX_ATTACHMENTS = 100


def _content(args: dict[str, Any], *, required: bool) -> dict[str, Any]:
    """Validate text/blocks/attachments of a message body; return the fields that were given."""
    given = {key: args[key] for key in ("text", "blocks", "attachments") if key in args}
    text = given.get("text")
    if text is not None and not isinstance(text, str):
        raise SlackError("invalid_arguments", ["[ERROR] must be a string [json-pointer:/text]"])
    if required and not text and not given.get("blocks") and not given.get("attachments"):
        raise SlackError("no_text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if "blocks" in given:
        blocks = given["blocks"]
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        problems = check_blocks(blocks, "/blocks", MESSAGE_MAX_BLOCKS)
        if problems:
            raise SlackError("invalid_blocks", problems)
    if "attachments" in given:
        attachments = given["attachments"]
        if not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if len(attachments) > MAX_ATTACHMENTS:
            raise SlackError("too_many_attachments")
    return given


def _as_json(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "message",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
    }
    if message.blocks:
        out["blocks"] = message.blocks
    if message.attachments:
        out["attachments"] = message.attachments
    if message.thread_ts:
        out["thread_ts"] = message.thread_ts
    if message.files:
        out["files"] = message.files
    return out


def post_message(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage: store the message in its channel and answer its ts."""
    channel = state.resolve_channel(args.get("channel"))
    content = _content(args, required=True)
    state.check_post_rate(channel)
    message = Message(
        channel=channel,
        ts=state.new_ts(),
        text=content.get("text") or "",
        user=state.identity.bot_user_id,
        blocks=content.get("blocks") or [],
        attachments=content.get("attachments") or [],
        thread_ts=args.get("thread_ts") or None,
        metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
    )
    state.messages.setdefault(channel, []).append(message)
    return {"ok": True, "channel": channel, "ts": message.ts, "message": _as_json(message)}


def post_ephemeral(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """chat.postEphemeral: keep the message aside, since it never joins the channel history."""
    channel = state.resolve_channel(args.get("channel"))
    user = args.get("user")
    if not isinstance(user, str) or not user:
        raise SlackError("user_not_found")
    content = _content(args, required=True)
    message = Message(
        channel=channel,
        ts=state.new_ts(),
        text=content.get("text") or "",
        user=user,
        blocks=content.get("blocks") or [],
        attachments=content.get("attachments") or [],
        thread_ts=args.get("thread_ts") or None,
    )
    state.ephemerals.append(message)
    return {"ok": True, "message_ts": message.ts}


def update(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """chat.update: replace the given fields of an existing message; omitted fields are kept."""
    channel = state.resolve_channel(args.get("channel"))
    message = state.find_message(channel, args.get("ts"))
    content = _content(args, required=False)
    if not content:
        raise SlackError("no_text")
    if "text" in content:
        message.text = content["text"] or ""
    if "blocks" in content:
        message.blocks = content["blocks"]
    if "attachments" in content:
        message.attachments = content["attachments"]
    message.updates += 1
    return {
        "ok": True,
        "channel": channel,
        "ts": message.ts,
        "text": message.text,
        "message": _as_json(message),
    }


def delete(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """chat.delete: remove a message from its channel."""
    channel = state.resolve_channel(args.get("channel"))
    message = state.find_message(channel, args.get("ts"))
    state.messages[channel].remove(message)
    return {"ok": True, "channel": channel, "ts": message.ts}


def add_reaction(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """reactions.add: one reaction name per user per message, as Slack allows."""
    name = args.get("name")
    if not isinstance(name, str) or not name:
        raise SlackError("invalid_name")
    channel = state.resolve_channel(args.get("channel"))
    message = state.find_message(channel, args.get("timestamp"))
    users = message.reactions.setdefault(name.strip(":"), [])
    if state.identity.bot_user_id in users:
        raise SlackError("already_reacted")
    users.append(state.identity.bot_user_id)
    return {"ok": True}


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _listed(message: Message, args: dict[str, Any]) -> dict[str, Any]:
    out = _as_json(message)
    if message.metadata and _flag(args.get("include_all_metadata")):
        out["metadata"] = message.metadata
    return out


def history(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.history: the channel's top-level messages, newest first; metadata on request."""
    channel = state.resolve_channel(args.get("channel"))
    limit = int(args.get("limit") or 100)
    top = [m for m in state.messages.get(channel, []) if not m.thread_ts or m.thread_ts == m.ts]
    newest = list(reversed(top))[:limit]
    return {"ok": True, "messages": [_listed(m, args) for m in newest], "has_more": len(top) > limit}


def replies(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.replies: a thread's parent then its replies, oldest first; metadata on request."""
    channel = state.resolve_channel(args.get("channel"))
    parent = state.find_message(channel, args.get("ts"))
    thread = [parent] + [m for m in state.messages.get(channel, []) if m.thread_ts == parent.ts and m is not parent]
    limit = int(args.get("limit") or 100)
    return {"ok": True, "messages": [_listed(m, args) for m in thread[:limit]], "has_more": len(thread) > limit}


METHODS = {
    "conversations.history": history,
    "conversations.replies": replies,
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "chat.delete": delete,
    "reactions.add": add_reaction,
}
