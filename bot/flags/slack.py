"""``/killswitch`` and its listeners: the confirmation modal, the triage-card button, the approval button.

Listeners are thin: ack (or answer the modal), parse, call ``bot.flags.service``.
"""

from __future__ import annotations

import logging
import shlex
from datetime import UTC, datetime
from typing import Any

import orjson
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.access import AccessChecker
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.errors import AfterlaunchError, UserError
from bot.flags import cards
from bot.flags.blast import blast_radius
from bot.flags.model import FlagView, Scope, check_flag_key, clean_scope, describe_scope, parse_scope
from bot.flags.service import Change, access_for, approve_request, check_access, create_flag, request_change
from bot.flags.snapshot import current_snapshot, runtime_for
from bot.services import Services
from bot.slack.client import web_client
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand
from storage import flags as store

log = logging.getLogger(__name__)

OPEN_ACTION = "killswitch_open"
USAGE = (
    "list | status <key> | kill <key> [tenant=… intent=… prompt_version=… model=… api_key_id=…]"
    " | restore <key> [scope] | history <key> | create <key> <description>"
)


def _flag(services: Services, key: str, now: datetime) -> FlagView:
    flag = current_snapshot(services, now).flags.get(check_flag_key(key))
    if flag is None:
        raise UserError(f"there is no flag '{key}'. `/killswitch list` shows the flags.")
    return flag


def _pending(services: Services, keys: list[str] | None = None) -> int:
    with services.db.session() as session:
        return len(store.list_pending_requests(session=session, flag_keys=keys))


def confirmation_view(
    services: Services, *, key: str, action: str, scope: Scope | None, card_key: str, channel: str, now: datetime
) -> dict[str, Any]:
    """The modal for a kill or restore, with the blast radius of exactly what would change."""
    flag = _flag(services, key, now)
    if action == "restore" and scope is None and not flag.kills:
        raise UserError(f"{flag.key} is on everywhere: there is nothing to restore")
    scopes = list(flag.kills) if scope is None else [scope]
    blast = blast_radius(services, scopes, now)
    return cards.confirm_modal(flag, action, scope, blast, card_key=card_key, channel=channel)


def open_modal(services: Services, trigger_id: str, view: dict[str, Any]) -> None:
    """Open a modal from a slash command's worker (after the ack), through the app's Slack client."""
    web_client(services.settings).views_open(trigger_id=trigger_id, view=view)


def _change_command(services: Services, request: CommandRequest, words: list[str]) -> CommandReply:
    action = words[0]
    if len(words) < 2:
        raise UserError(f"which flag? `/killswitch {action} <key> [tenant=…]`")
    key = check_flag_key(words[1])
    scope = parse_scope(words[2:])
    scope_or_all: Scope | None = scope if (scope or action == "kill") else None
    change = Change(key, action, scope_or_all, "", request.user_id, channel=request.channel_id)  # type: ignore[arg-type]
    check_access(services, change, access_for(services), request.now)
    view = confirmation_view(
        services, key=key, action=action, scope=scope_or_all, card_key="", channel=request.channel_id, now=request.now
    )
    if not request.trigger_id or services.settings.local_mode:
        raise UserError("kill and restore are confirmed in a Slack modal; run the command from Slack")
    open_modal(services, request.trigger_id, view)
    text = f"Confirm the {action} of `{key}` for {describe_scope(scope_or_all)} in the dialog."
    return CommandReply(card=Card(text=text, blocks=[b.section(text)]))


def handle(services: Services, request: CommandRequest) -> CommandReply:
    try:
        words = shlex.split(request.text)
    except ValueError as exc:
        raise UserError(f"could not read the command ({exc}); usage: /killswitch {USAGE}") from None
    word = words[0].lower() if words else "list"
    if word in ("kill", "restore"):
        return _change_command(services, request, [word, *words[1:]])
    if word == "list":
        return CommandReply(card=cards.list_card(current_snapshot(services, request.now)))
    if word in ("status", "history") and len(words) < 2:
        raise UserError(f"which flag? `/killswitch {word} <key>`")
    if word == "status":
        flag = _flag(services, words[1], request.now)
        blast = blast_radius(services, list(flag.kills), request.now)
        return CommandReply(card=cards.status_card(flag, blast, _pending(services, [flag.key])))
    if word == "history":
        flag = _flag(services, words[1], request.now)
        with services.db.session() as session:
            rows = store.list_audit(session=session, flag_key=flag.key, limit=20)
        return CommandReply(card=cards.history_card(flag.key, rows))
    if word == "create":
        if len(words) < 3:
            raise UserError("usage: /killswitch create <key> <what killing it turns off>")
        create_flag(
            services, words[1], " ".join(words[2:]), request.user_id, access=access_for(services), now=request.now
        )
        return CommandReply(card=cards.list_card(current_snapshot(services, request.now)))
    raise UserError(f"unknown subcommand '{word}'. Usage: /killswitch {USAGE}")


COMMAND = SlashCommand(
    name="/killswitch",
    description="Turn the AI feature (or one tenant's, intent's, prompt's slice of it) off and on, with an audit trail",
    usage_hint=USAGE,
    handler=handle,
)


def submitted_change(body: dict[str, Any], view: dict[str, Any]) -> Change:
    """Read the confirmation modal's submission into a Change."""
    meta = orjson.loads(view.get("private_metadata") or "{}")
    values = (view.get("state") or {}).get("values") or {}
    reason = ((values.get(cards.REASON_BLOCK) or {}).get(cards.REASON_ACTION) or {}).get("value") or ""
    action = meta.get("action")
    if action not in ("kill", "restore"):
        raise UserError("this dialog is not a kill-switch confirmation")
    scope = None if meta.get("scope") is None else clean_scope(meta["scope"])
    card_key = meta.get("card_key") or ""
    return Change(
        flag=check_flag_key(str(meta.get("flag", ""))),
        action=action,
        scope=scope,
        reason=reason,
        actor=(body.get("user") or {}).get("id", ""),
        source="card" if card_key else "slack",
        channel=meta.get("channel") or "",
        card_key=card_key,
    )


def home_section(services: Services, now: datetime) -> list[dict[str, Any]]:
    """The App Home's "Kill switches" section: what is off right now."""
    return cards.home_blocks(current_snapshot(services, now), _pending(services))


def register(app: App, services: Services, access: AccessChecker) -> None:
    """The modal submission, the triage card's kill button and the approval button."""
    runtime_for(services).access = access

    @app.view(cards.CONFIRM_CALLBACK)
    def killswitch_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            change = submitted_change(body, view)
            if not change.reason.strip():
                raise UserError("a reason is required: say what is happening and why this scope")
            request_change(services, change, access=access, now=datetime.now(UTC))
        except AfterlaunchError as exc:
            ack(response_action="errors", errors={cards.REASON_BLOCK: exc.message[:150]})
            return
        ack()

    @app.action(OPEN_ACTION)
    def killswitch_open(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = (body.get("actions") or [{}])[0]
        try:
            value = orjson.loads(action.get("value") or "{}")
        except orjson.JSONDecodeError:
            raise UserError("this kill-switch button carries no valid flag") from None
        if not isinstance(value, dict):
            raise UserError("this kill-switch button carries no valid flag")
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")
        key = check_flag_key(str(value.get("flag", "")))
        scope = clean_scope(value.get("scope") or {})
        now = datetime.now(UTC)
        change = Change(
            key, "kill", scope, "", user, source="card", channel=channel, card_key=str(value.get("card_key") or "")
        )
        check_access(services, change, access, now)
        view = confirmation_view(
            services, key=key, action="kill", scope=scope, card_key=change.card_key, channel=channel, now=now
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(cards.APPROVE_ACTION)
    def killswitch_approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        action = (body.get("actions") or [{}])[0]
        try:
            request_id = int(action.get("value", ""))
        except ValueError:
            raise UserError("this approval button carries no request id") from None
        approve_request(
            services, request_id, (body.get("user") or {}).get("id", ""), access=access, now=datetime.now(UTC)
        )
