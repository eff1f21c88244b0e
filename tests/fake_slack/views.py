from __future__ import annotations

import copy
import hashlib
from typing import Any

from tests.fake_slack.blocks import check_view
from tests.fake_slack.records import SlackError
from tests.fake_slack.state import State

TRIGGER_LIFETIME = 3.0


def _use_trigger(state: State, trigger_id: Any) -> None:
    """A trigger_id opens one view, within three seconds of the interaction that gave it."""
    if not isinstance(trigger_id, str) or not trigger_id:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
    if trigger_id in state.used_triggers:
        raise SlackError("exchanged_trigger_id")
    issued = state.issued_triggers.get(trigger_id)
    if issued is not None and state.clock() - issued > TRIGGER_LIFETIME:
        raise SlackError("expired_trigger_id")
    state.used_triggers.add(trigger_id)


def _validated(args: dict[str, Any], expected: set[str]) -> dict[str, Any]:
    view = args.get("view")
    if view is None:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
    problems = check_view(view, expected=expected)
    if problems:
        raise SlackError("invalid_arguments", problems)
    return copy.deepcopy(view)


def _stored(
    state: State, view: dict[str, Any], view_id: str, *, root: str | None = None, previous: str | None = None
) -> dict[str, Any]:
    """Store a view under its id with the fields Slack adds, and return a copy to answer with."""
    digest = hashlib.sha1(state.new_id(view_id).encode()).hexdigest()[:16]
    view.update(
        {
            "id": view_id,
            "team_id": state.identity.team_id,
            "bot_id": state.identity.bot_id,
            "hash": f"{int(state.clock())}.{digest}",
            "root_view_id": root or view_id,
            "previous_view_id": previous,
            "state": {"values": {}},
        }
    )
    view.setdefault("private_metadata", "")
    view.setdefault("callback_id", "")
    state.views[view_id] = view
    return copy.deepcopy(view)


def _check_hash(current: dict[str, Any], args: dict[str, Any]) -> None:
    given = args.get("hash")
    if given and given != current.get("hash"):
        raise SlackError("hash_conflict")


def open_view(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """views.open: open a modal for the trigger of a user's interaction."""
    view = _validated(args, {"modal"})
    _use_trigger(state, args.get("trigger_id"))
    return {"ok": True, "view": _stored(state, view, state.new_id("V"))}


def push_view(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """views.push: stack a new modal on top of the one the interaction came from."""
    view = _validated(args, {"modal"})
    _use_trigger(state, args.get("trigger_id"))
    return {"ok": True, "view": _stored(state, view, state.new_id("V"))}


def update_view(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """views.update: replace an open view, by view_id or external_id, honouring hash."""
    view_id = args.get("view_id")
    external_id = args.get("external_id")
    if not view_id and not external_id:
        raise SlackError("invalid_arguments", ["[ERROR] view_id or external_id is required"])
    current = state.views.get(view_id) if isinstance(view_id, str) else None
    if current is None and external_id:
        current = next((v for v in state.views.values() if v.get("external_id") == external_id), None)
    if current is None:
        raise SlackError("not_found")
    _check_hash(current, args)
    view = _validated(args, {current["type"]})
    return {
        "ok": True,
        "view": _stored(state, view, current["id"], root=current["root_view_id"], previous=current["previous_view_id"]),
    }


def publish_view(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """views.publish: set a user's Home tab; only the latest one is kept."""
    user_id = args.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: user_id"])
    current = state.homes.get(user_id)
    if current is not None:
        _check_hash(current, args)
    view = _validated(args, {"home"})
    view_id = current["id"] if current is not None else state.new_id("V")
    stored = _stored(state, view, view_id)
    state.homes[user_id] = state.views[view_id]
    return {"ok": True, "view": stored}


METHODS = {
    "views.open": open_view,
    "views.push": push_view,
    "views.update": update_view,
    "views.publish": publish_view,
}
