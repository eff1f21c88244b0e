"""Block Kit for kill switches: the confirmation modal, command replies, announcements, the Home section."""

from __future__ import annotations

from typing import Any

import orjson

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import SECTION_TEXT, truncate_text
from bot.cards.text import render
from bot.flags.blast import Blast
from bot.flags.model import FlagView, Scope, Snapshot, describe_scope
from storage.flags_models import FlagAudit, FlagRequest

CONFIRM_CALLBACK = "killswitch_confirm"
APPROVE_ACTION = "killswitch_approve"
REASON_BLOCK = "reason"
REASON_ACTION = "reason"
VERBS = {"kill": "Kill", "restore": "Restore"}


def _section(text: str) -> dict[str, Any]:
    return b.section(truncate_text(text, SECTION_TEXT))


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def confirm_modal(
    flag: FlagView, action: str, scope: Scope | None, blast: Blast, *, card_key: str, channel: str
) -> dict[str, Any]:
    """The modal that confirms a kill or restore: blast radius first, then a required reason."""
    two_person = flag.require_second_approver and not scope
    text = render(
        "flags_modal.md.j2",
        verb=VERBS[action],
        flag=flag,
        scope=describe_scope(scope),
        state=flag.state(),
        blast=blast,
        requests=f"{blast.requests:,}",
        total_requests=f"{blast.total_requests:,}",
        two_person=two_person,
    )
    metadata = orjson.dumps(
        {"flag": flag.key, "action": action, "scope": scope, "card_key": card_key, "channel": channel}
    ).decode()
    reason = b.plain_text_input(
        REASON_ACTION, multiline=True, max_length=2000, placeholder="What is happening and why this scope"
    )
    return b.modal(
        f"{VERBS[action]} {flag.key}"[:24],
        [
            _section(text),
            b.input_block("Reason", reason, block_id=REASON_BLOCK, hint="Recorded in the audit log with your name."),
            b.context("Announced in the ops channel" + (" and in the card's thread." if card_key else ".")),
        ],
        callback_id=CONFIRM_CALLBACK,
        submit="Request approval" if two_person else VERBS[action],
        close="Cancel",
        private_metadata=metadata,
    )


def list_card(snapshot: Snapshot) -> Card:
    flags = [
        {"key": f.key, "state": f.state(), "description": f.description, "owner": f.owner} for f in _flags(snapshot)
    ]
    sections = [_section(render("flags_list.md.j2", flags=part)) for part in _chunks(flags, 8)]
    return Card(text="Kill switches", blocks=[b.header("Kill switches"), *sections])


def status_card(flag: FlagView, blast: Blast, pending: int) -> Card:
    text = render(
        "flags_status.md.j2",
        flag=flag,
        state=flag.state(),
        kills=[describe_scope(k) for k in flag.kills],
        pending=pending,
    )
    facts = [("Owner", flag.owner or "—"), ("Killed traffic, last hour", f"{blast.request_share:.1%}")]
    return Card(
        text=f"{flag.key}: {flag.state()}",
        blocks=[b.header(f"Kill switch {flag.key}"[:150]), _section(text), b.fields_section(facts)],
    )


def history_card(key: str, rows: list[FlagAudit]) -> Card:
    items = [
        {
            "at": r.at,
            "actor": r.actor,
            "approver": r.approver,
            "action": r.action,
            "scope": describe_scope(orjson.loads(r.scope or "{}")),
            "outcome": r.outcome,
            "from_state": r.from_state,
            "to_state": r.to_state,
            "reason": r.reason,
            "detail": r.detail,
        }
        for r in rows
    ]
    sections = [_section(render("flags_history.md.j2", rows=part, key=key)) for part in _chunks(items, 3)]
    return Card(text=f"History of {key}", blocks=[b.header(f"History of {key}"[:150]), *sections])


def announcement(row: FlagAudit, *, alert: str | None = None) -> Card:
    """The ops-channel card for a change that happened."""
    verb = "killed" if row.action == "kill" else "restored"
    text = render(
        "flags_announce.md.j2",
        icon=":red_circle:" if row.action == "kill" else ":large_green_circle:",
        actor=row.actor,
        approver=row.approver,
        verb=verb,
        key=row.flag_key,
        scope=describe_scope(orjson.loads(row.scope)),
        from_state=row.from_state,
        to_state=row.to_state,
        reason=row.reason,
        alert=alert,
    )
    return Card(text=f"{row.flag_key} {verb} by {row.actor}", blocks=[_section(text)])


def approval_card(request: FlagRequest) -> Card:
    """The ops-channel card asking a second person to approve a global change."""
    scope = orjson.loads(request.scope)
    text = render(
        "flags_approval.md.j2",
        requester=request.requested_by,
        verb=request.action,
        key=request.flag_key,
        scope=describe_scope(scope),
        reason=request.reason,
        status=request.status,
        decided_by=request.decided_by,
    )
    blocks = [_section(text)]
    if request.status == "pending":
        blocks.append(
            b.actions(
                b.button(
                    f"Approve: {request.action} {request.flag_key}"[:75],
                    APPROVE_ACTION,
                    value=str(request.id),
                    style="danger" if request.action == "kill" else "primary",
                    confirm=b.confirm_dialog(
                        "Approve the change?", f"{request.action} {request.flag_key} for {describe_scope(scope)}"[:300]
                    ),
                )
            )
        )
    return Card(text=f"Approval needed: {request.action} {request.flag_key}", blocks=blocks)


def home_blocks(snapshot: Snapshot, pending: int) -> list[dict[str, Any]]:
    flags = _flags(snapshot)
    killed = [{"key": f.key, "state": f.state()} for f in flags if f.kills][:20]
    text = render("flags_home.md.j2", killed=killed, total=len(flags), pending=pending)
    return [b.header("Kill switches"), _section(text)]


def _flags(snapshot: Snapshot) -> list[FlagView]:
    return sorted(snapshot.flags.values(), key=lambda f: f.key)[:40]
