"""Killing and restoring flags: access checks, the two-person rule, the audit row and the announcements.

Every change bumps the deployment version in the same transaction as the rule
change, its audit row and its Slack messages (outbox), so either all of it
happened or none of it did.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import orjson
from sqlmodel import Session

from bot.access import AccessChecker
from bot.errors import PermissionDenied, UserError
from bot.flags import cards
from bot.flags.model import AFTERLAUNCH, FlagView, Scope, check_flag_key, describe_scope
from bot.flags.snapshot import runtime_for, sync_config_flags
from bot.services import Services
from bot.slack.post import post_card, reply_in_thread, update_card
from storage import flags as store
from storage.flags_models import FlagAudit, FlagRequest

log = logging.getLogger(__name__)

CAPABILITY = "killswitch"
REQUEST_LIFETIME = timedelta(hours=1)
MAX_REASON = 2000


@dataclass(frozen=True)
class Change:
    """A kill or restore someone (or afterlaunch) asked for; ``scope=None`` restores every kill of the flag."""

    flag: str
    action: Literal["kill", "restore", "create"]
    scope: Scope | None
    reason: str
    actor: str
    source: str = "slack"
    channel: str = ""
    card_key: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    status: Literal["done", "pending"]
    flag: FlagView
    version: int
    audit_id: int
    request_id: int | None = None


def ops_channel(services: Services) -> str:
    channels = services.settings.file.channels
    return channels.ops or channels.default or services.settings.default_channel


def access_for(services: Services) -> AccessChecker:
    """The Slack app's checker (user groups resolved through Slack) or, without Slack, users only."""
    return runtime_for(services).access or AccessChecker(services)


def _flag_view(session: Session, key: str) -> FlagView | None:
    flag = store.get_flag(session=session, key=key)
    if flag is None:
        return None
    kills = tuple(r.scope() for r in store.list_rules(session=session, flag_key=key))
    return FlagView(flag.key, flag.description, flag.owner, flag.require_second_approver, kills)


def _audit(change: Change, outcome: str, now: datetime, **fields: str) -> FlagAudit:
    fields.setdefault("detail", change.detail)
    return FlagAudit(
        at=now,
        flag_key=change.flag,
        action=change.action,
        outcome=outcome,
        actor=change.actor,
        scope=orjson.dumps(change.scope).decode() if change.scope is None else store.scope_json(change.scope),
        reason=change.reason.strip()[:MAX_REASON],
        source=change.source,
        channel=change.channel,
        card_key=change.card_key,
        **fields,
    )


def record_refusal(services: Services, change: Change, why: str, now: datetime) -> None:
    """A refused attempt is part of the record too."""
    with services.db.write_session() as session:
        store.append_audit(session=session, row=_audit(change, "refused", now, detail=why[:500]))


def check_access(services: Services, change: Change, access: AccessChecker | None, now: datetime) -> None:
    if change.actor == AFTERLAUNCH:
        return
    if not (access or access_for(services)).allowed(change.actor, CAPABILITY):
        record_refusal(services, change, f"no '{CAPABILITY}' access. {change.detail}".strip(), now)
        raise PermissionDenied(
            f"you need the '{CAPABILITY}' access to kill or restore flags; it is granted in afterlaunch.toml under"
            " [access]. Your attempt was recorded."
        )


def request_change(services: Services, change: Change, *, access: AccessChecker | None, now: datetime) -> Outcome:
    """The one entry point for kills and restores from people, cards and detectors."""
    sync_config_flags(services, now)
    check_access(services, change, access, now)
    if not change.reason.strip():
        raise UserError("a reason is required: say what is happening and why this scope")
    with services.db.session() as session:
        flag = _flag_view(session, change.flag)
    if flag is None:
        raise UserError(f"there is no flag '{change.flag}'. `/killswitch list` shows the flags.")
    if flag.require_second_approver and not change.scope:
        return _request_second_person(services, change, flag, now)
    return apply_change(services, change, approver="", now=now)


def _request_second_person(services: Services, change: Change, flag: FlagView, now: datetime) -> Outcome:
    with services.db.write_session() as session:
        request = store.create_request(
            session=session,
            request=FlagRequest(
                flag_key=change.flag,
                action=change.action,
                scope=orjson.dumps(change.scope).decode(),
                reason=change.reason.strip()[:MAX_REASON],
                requested_by=change.actor,
                channel=change.channel,
                card_key=change.card_key,
                created_at=now,
            ),
        )
        row = store.append_audit(session=session, row=_audit(change, "pending", now, detail=f"request {request.id}"))
        post_card(
            session=session,
            channel=ops_channel(services),
            card=cards.approval_card(request),
            now=now,
            card_key=f"killswitch-request:{request.id}",
        )
        version = store.get_version(session=session)
    services.wake_outbox.set()
    return Outcome("pending", flag, version, row.id or 0, request.id)


def approve_request(
    services: Services, request_id: int, approver: str, *, access: AccessChecker | None, now: datetime
) -> Outcome:
    """The second person's approval; the requester cannot approve their own change."""
    with services.db.session() as session:
        request = store.get_request(session=session, request_id=request_id)
    if request is None:
        raise UserError(f"there is no kill-switch request {request_id}")
    scope = orjson.loads(request.scope)
    change = Change(
        flag=request.flag_key,
        action="kill" if request.action == "kill" else "restore",
        scope=scope,
        reason=request.reason,
        actor=request.requested_by,
        channel=request.channel,
        card_key=request.card_key,
    )
    as_approver = Change(**{**change.__dict__, "actor": approver, "detail": f"approval of request {request_id}"})
    check_access(services, as_approver, access, now)
    if approver == request.requested_by:
        record_refusal(services, as_approver, "the requester tried to approve their own change", now)
        raise PermissionDenied("the second approver must be someone else than the person who asked")
    status = "expired" if now - request.created_at > REQUEST_LIFETIME else "approved"
    with services.db.write_session() as session:
        decided = store.decide_request(session=session, request_id=request_id, status=status, by=approver, now=now)
        if decided is not None:
            update_card(
                session=session, card_key=f"killswitch-request:{request_id}", card=cards.approval_card(decided), now=now
            )
    services.wake_outbox.set()
    if decided is None:
        raise UserError(f"request {request_id} was already {request.status}")
    if status == "expired":
        raise UserError("this request is older than an hour and expired; ask again with /killswitch")
    return apply_change(services, change, approver=approver, now=now)


def apply_change(services: Services, change: Change, *, approver: str, now: datetime) -> Outcome:
    """Change the rules, bump the version, audit and announce, all in one transaction."""
    with services.db.write_session() as session:
        before = _flag_view(session, change.flag)
        if before is None:
            raise UserError(f"there is no flag '{change.flag}'")
        if change.action == "kill":
            assert change.scope is not None
            if not store.add_rule(
                session=session, flag_key=change.flag, scope=change.scope, created_by=change.actor, now=now
            ):
                raise UserError(f"{change.flag} is already killed for {describe_scope(change.scope)}")
        elif store.remove_rules(session=session, flag_key=change.flag, scope=change.scope) == 0:
            active = "; ".join(describe_scope(k) for k in before.kills) or "none"
            raise UserError(f"{change.flag} is not killed for {describe_scope(change.scope)}. Active kills: {active}")
        after = _flag_view(session, change.flag)
        assert after is not None
        version = store.bump_version(session=session)
        row = store.append_audit(
            session=session,
            row=_audit(change, "done", now, approver=approver, from_state=before.state(), to_state=after.state()),
        )
        card = cards.announcement(row, alert=change.detail if change.source == "alert" else None)
        post_card(session=session, channel=ops_channel(services), card=card, now=now)
        if change.card_key:
            reply_in_thread(session=session, card_key=change.card_key, text=card.text, blocks=card.blocks, now=now)
    services.wake_outbox.set()
    _refresh_homes(services, now)
    return Outcome("done", after, version, row.id or 0)


def create_flag(
    services: Services, key: str, description: str, actor: str, *, access: AccessChecker | None, now: datetime
) -> FlagView:
    """A flag created from Slack (one not in the config file)."""
    key = check_flag_key(key)
    change = Change(flag=key, action="create", scope={}, reason=description, actor=actor)
    check_access(services, change, access, now)
    if not description.strip():
        raise UserError("say what the flag turns off: /killswitch create <key> <description>")
    with services.db.write_session() as session:
        if store.get_flag(session=session, key=key) is not None:
            raise UserError(f"flag '{key}' already exists")
        store.create_flag(
            session=session, key=key, description=description.strip()[:500], owner=actor, created_by=actor, now=now
        )
        store.bump_version(session=session)
        store.append_audit(session=session, row=_audit(change, "done", now, from_state="", to_state="on"))
    return FlagView(key, description.strip()[:500], actor)


def _refresh_homes(services: Services, now: datetime) -> None:
    from bot.slack.home import refresh_homes

    try:
        refresh_homes(services, now)
    except Exception:
        log.exception("could not refresh App Homes after a kill-switch change")
