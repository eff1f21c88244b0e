"""What /triage and its buttons do, as plain functions: Slack listeners, the CLI and tests call these."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from bot.access import AccessChecker
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.errors import AfterlaunchError, PermissionDenied, UserError
from bot.runbooks import default_runbook_dir, load_runbooks, render_steps
from bot.services import Services
from bot.slack.post import post_card, send_ephemeral
from bot.slack.registry import CommandReply, CommandRequest, error_card
from bot.triage import cards
from bot.triage.blast import similar_requests
from bot.triage.download import download_file
from bot.triage.pipeline import (
    MAX_IMAGE_BYTES,
    TriageOutcome,
    tenants_for_channel,
    triage_image,
    triage_query,
    triage_row,
)
from bot.triage.triple import Triple, load_triple
from storage import triage as store
from storage.models import LLMRequest, RequestBody

log = logging.getLogger(__name__)

RESPONDERS = "responders"
RUNBOOK_ID = "screenshot-report"
IMAGE_TYPES = ("png", "jpg", "jpeg", "webp")
BUNDLE_FIELDS = (
    "request_id", "tenant", "ts_ms", "intent", "category", "path", "session_id", "trace_id", "user_hash",
    "prompt_version", "model", "model_requested", "provider", "system_fingerprint", "input_tokens", "output_tokens",
    "cached_tokens", "cost_usd", "latency_ms", "ttft_ms", "status", "finish_reason", "attempt", "parent_request_id",
    "agent_step",
)  # fmt: skip


def handle_command(services: Services, request: CommandRequest) -> CommandReply:
    """``/triage`` opens the upload dialog; ``/triage <request_id>`` and ``/triage "text"`` look up directly."""
    text = request.text.strip()
    if not text:
        if services.settings.local_mode or not request.trigger_id:
            raise UserError('upload a screenshot from Slack, or use /triage <request_id> or /triage "what the AI said"')
        from bot.slack.client import web_client

        web_client(services.settings).views_open(
            trigger_id=request.trigger_id, view=cards.upload_modal(request.channel_id)
        )
        return CommandReply(card=Card(text="Upload the screenshot in the dialog.", blocks=[]))
    outcome = triage_query(services, text, tenants=request.tenant_scope.tenants, now=request.now)
    return CommandReply(card=cards.outcome_card(outcome), in_channel=outcome.kind == "match")


def _say(services: Services, *, channel: str, user: str, card: Card, now: datetime, public: bool) -> None:
    with services.db.write_session() as session:
        if public:
            post_card(session=session, channel=channel, card=card, now=now)
        else:
            send_ephemeral(session=session, channel=channel, user=user, card=card, now=now)
    services.wake_outbox.set()


def triage_slack_file(
    services: Services, file_id: str, *, channel: str, user: str, now: datetime
) -> TriageOutcome | None:
    """Download a pasted screenshot, triage it, and post the card; a refusal goes only to the person who asked."""
    try:
        downloaded = download_file(services.settings, file_id, max_bytes=MAX_IMAGE_BYTES)
        outcome = triage_image(services, downloaded.data, tenants=tenants_for_channel(services, channel), now=now)
    except AfterlaunchError as exc:
        _say(services, channel=channel, user=user, card=error_card(exc.message), now=now, public=False)
        return None
    _say(
        services, channel=channel, user=user, card=cards.outcome_card(outcome), now=now, public=outcome.kind == "match"
    )
    return outcome


def image_file_id(files: list[dict[str, Any]] | None) -> str:
    """The first image among a message's files; a clear refusal when there is none."""
    for item in files or []:
        kind = str(item.get("filetype") or "").lower()
        if kind in IMAGE_TYPES or str(item.get("mimetype") or "").startswith("image/"):
            return str(item["id"])
    if files:
        raise UserError("this message's files are not images; /triage reads PNG, JPEG or WebP screenshots")
    raise UserError("this message carries no image; paste the screenshot into the message, or use /triage")


def uploaded_file_id(view: dict[str, Any]) -> str | None:
    """The file chosen in the /triage dialog, if any."""
    values = (view.get("state") or {}).get("values") or {}
    files = ((values.get(cards.FILE_BLOCK) or {}).get(cards.FILE_ACTION) or {}).get("files") or []
    return str(files[0]["id"]) if files and files[0].get("id") else None


def dialog_channel(view: dict[str, Any], fallback: str) -> str:
    try:
        meta = orjson.loads(view.get("private_metadata") or "{}")
    except orjson.JSONDecodeError:
        return fallback
    return str(meta.get("channel") or fallback) if isinstance(meta, dict) else fallback


def _row(services: Services, row_id: int, channel: str) -> tuple[LLMRequest, RequestBody | None]:
    """A request a button names, re-checked against the tenant of the channel the button was clicked in."""
    with services.db.session() as session:
        rows = store.get_rows(session=session, ids=[row_id], tenants=tenants_for_channel(services, channel))
    if row_id not in rows:
        raise UserError("that request is not visible from this channel (or was purged)")
    return rows[row_id]


def _triple(services: Services, row_id: int, channel: str) -> Triple:
    request, body = _row(services, row_id, channel)
    with services.db.session() as session:
        return load_triple(session, request, body)


def full_context(services: Services, access: AccessChecker, *, user: str, channel: str, row_id: int) -> Card:
    """The full prompt and context, for members of the responders group only."""
    if not access.allowed(user, RESPONDERS):
        raise PermissionDenied("the full prompt and context are shown only to the 'responders' access group")
    return cards.full_card(_triple(services, row_id, channel))


def replay_bundle(triple: Triple, now: datetime) -> bytes:
    """Everything needed to replay the call: versions, messages in order, context as given, the answer received."""
    request = triple.request
    messages: list[dict[str, str]] = [{"role": "system", "content": triple.system}] if triple.system else []
    messages.extend({"role": role, "content": content} for role, content in triple.turns)
    bundle = {
        "format": "afterlaunch.replay/1",
        "exported_at": now.astimezone(UTC).isoformat(),
        "request": {key: getattr(request, key) for key in BUNDLE_FIELDS},
        "labels": triple.labels,
        "replay": {
            "provider": request.provider,
            "model": request.model_requested or request.model,
            "served_model": request.model,
            "system_fingerprint": request.system_fingerprint,
            "messages": messages,
            "context": [
                {"doc_id": d.doc_id, "source": d.source, "text": d.text, "score": d.score} for d in triple.docs
            ],
        },
        "response": triple.response,
        "body_purged": triple.body_purged,
    }
    return orjson.dumps(bundle, option=orjson.OPT_INDENT_2)


def export_bundle(
    services: Services, access: AccessChecker, *, user: str, channel: str, row_id: int, now: datetime
) -> tuple[str, bytes]:
    """(file name, JSON) of the replay bundle; it holds prompt bodies, so responders only."""
    if not access.allowed(user, RESPONDERS):
        raise PermissionDenied("replay bundles hold prompt bodies and go only to the 'responders' access group")
    triple = _triple(services, row_id, channel)
    return f"replay-{triple.request.request_id}.json", replay_bundle(triple, now)


def similar(services: Services, *, channel: str, row_id: int, now: datetime) -> Card:
    """The newest near-duplicates of a matched request, in this channel's tenants."""
    request, body = _row(services, row_id, channel)
    services.db.searchable()
    with services.db.session() as session:
        rows = similar_requests(session, request, body, tenants=tenants_for_channel(services, channel), now=now)
    return cards.similar_card(rows, prompt_version=request.prompt_version, model=request.model)


def runbook_modal(services: Services, *, channel: str, row_id: int) -> dict[str, Any]:
    """The screenshot runbook with this request's id and tenant filled in."""
    request, _ = _row(services, row_id, channel)
    runbook = next((rb for rb in load_runbooks(default_runbook_dir()) if rb.id == RUNBOOK_ID), None)
    if runbook is None:
        raise UserError(f"the runbook '{RUNBOOK_ID}' is not installed (runbooks/{RUNBOOK_ID}.md)")
    labels = {"detector": "screenshot", "request_id": request.request_id, "tenant": request.tenant}
    steps = render_steps(runbook, labels)
    blocks = [b.section(f"*{runbook.title}*"[:3000])]
    blocks.extend(b.section(f"{i}. {step}"[:3000]) for i, step in enumerate(steps[:40], 1))
    return b.modal("Screenshot runbook", blocks, callback_id="triage_runbook_view", close="Close")


def pick(services: Services, *, channel: str, user: str, row_id: int, now: datetime) -> Card | None:
    """A candidate picked from the short list becomes the card in the channel; else the reply for the picker."""
    outcome = triage_row(services, row_id, tenants=tenants_for_channel(services, channel), now=now)
    card = cards.outcome_card(outcome)
    if outcome.kind != "match":
        return card
    _say(services, channel=channel, user=user, card=card, now=now, public=True)
    return None
