from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.fake_slack.records import SlackError
from tests.fake_slack.state import State

MAX_GROUP_DM_USERS = 8


def user_object(
    state: State, user_id: str, name: str, *, is_admin: bool, tz: str, real_name: str | None, email: str | None
) -> dict[str, Any]:
    """Build a users.info user the way Slack shapes it, with the offset of tz at the fake's clock."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc
    moment = dt.datetime.fromtimestamp(state.clock(), tz=zone)
    offset = moment.utcoffset() or dt.timedelta(0)
    profile: dict[str, Any] = {"real_name": real_name or name, "display_name": name}
    if email is not None:
        profile["email"] = email
    return {
        "id": user_id,
        "team_id": state.identity.team_id,
        "name": name,
        "real_name": real_name or name,
        "deleted": False,
        "is_admin": is_admin,
        "is_owner": False,
        "is_bot": False,
        "tz": tz,
        "tz_label": moment.tzname() or tz,
        "tz_offset": int(offset.total_seconds()),
        "profile": profile,
    }


def auth_test(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """auth.test: say which workspace and bot user the token belongs to."""
    ident = state.identity
    return {
        "ok": True,
        "url": f"{state.base_url}/",
        "team": ident.team,
        "user": "afterlaunch",
        "team_id": ident.team_id,
        "user_id": ident.bot_user_id,
        "bot_id": ident.bot_id,
        "is_enterprise_install": False,
    }


def users_info(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """users.info: answer a seeded user, or user_not_found."""
    user = state.users.get(args.get("user") or "")
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": user}


def usergroup_users(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """usergroups.users.list: answer the members of a seeded user group."""
    members = state.usergroups.get(args.get("usergroup") or "")
    if members is None:
        raise SlackError("no_such_subteam")
    return {"ok": True, "users": list(members)}


def open_conversation(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.open: a DM for one user, a group DM for several, the same id every time."""
    channel = args.get("channel")
    if channel:
        return {"ok": True, "channel": {"id": state.resolve_channel(channel)}}
    users = args.get("users")
    if isinstance(users, str):
        users = [u.strip() for u in users.split(",") if u.strip()]
    if not users:
        raise SlackError("users_list_not_supplied")
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        raise SlackError("invalid_arguments")
    if len(users) > MAX_GROUP_DM_USERS:
        raise SlackError("too_many_users")
    return {"ok": True, "channel": {"id": state.open_conversation(tuple(users))}}


METHODS = {
    "auth.test": auth_test,
    "users.info": users_info,
    "usergroups.users.list": usergroup_users,
    "conversations.open": open_conversation,
}
