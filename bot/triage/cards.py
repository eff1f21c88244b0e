"""Triage cards: the redacted channel card, the pick list, not-found, and the responders-only full view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import HEADER_TEXT, SECTION_TEXT, truncate_text
from bot.cards.text import render, trusted
from bot.errors import UserError
from bot.triage.blast import BlastRadius
from bot.triage.match import Candidate
from bot.triage.pipeline import TriageOutcome
from bot.triage.triple import Triple
from storage.models import LLMRequest

FULL_ACTION = "triage_full"
EXPORT_ACTION = "triage_export"
SIMILAR_ACTION = "triage_similar"
RUNBOOK_ACTION = "triage_runbook"
PICK_ACTION = "triage_pick"
UPLOAD_CALLBACK = "triage_upload"
FILE_BLOCK, FILE_ACTION = "triage_file", "file"
NOTE_BLOCK, NOTE_ACTION = "triage_note", "note"
READ_SHOWN = 1500
PICKS = 3


def ref(row_id: int) -> str:
    """A button value naming one logged request by its row id (the click re-checks the channel's tenant)."""
    return orjson.dumps({"id": row_id}).decode()


def parse_ref(value: str) -> int:
    """The row id inside a triage button's value; anything else is a clear refusal."""
    try:
        data = orjson.loads(value or "{}")
        return int(data["id"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise UserError("this triage button carries no request reference; run /triage again") from None


def _fenced(text: str, limit: int = READ_SHOWN) -> str:
    return truncate_text(text.replace("```", "'''"), limit)


def _section(text: str) -> dict[str, Any]:
    return b.section(truncate_text(text, SECTION_TEXT))


def _when(request: LLMRequest) -> datetime:
    return datetime.fromtimestamp(request.ts_ms / 1000, UTC)


def _facts_text(request: LLMRequest) -> str:
    user = f"`{request.user_hash[:10]}…` (hashed)" if request.user_hash else "unknown"
    return render(
        "triage_facts.md.j2",
        tenant=request.tenant,
        user=trusted(user),
        when=_when(request),
        intent=request.intent,
        path=request.path,
        latency_ms=request.latency_ms,
        input_tokens=request.input_tokens,
        output_tokens=request.output_tokens,
        cached_tokens=request.cached_tokens,
        cost_usd=request.cost_usd,
        status=request.status,
        finish_reason=request.finish_reason,
    )


def _verdict(blast: BlastRadius) -> str:
    week = blast.windows[-1][1]
    if week.requests <= 1:
        return "One request: looks like a one-off so far."
    if week.users <= 1:
        return f"{week.requests} requests, all from one user: likely one user's conversation."
    return f"Widespread: {week.users} users in {week.tenants} tenant(s) got this pattern this week."


def _blast_text(blast: BlastRadius, tenant_scoped: bool) -> str:
    return render("triage_blast.md.j2", windows=blast.windows, verdict=_verdict(blast), tenant_scoped=tenant_scoped)


def match_card(outcome: TriageOutcome) -> Card:
    """The channel card: the triple, the figures and the blast radius, without prompt bodies or user ids."""
    triple, best = outcome.triple, outcome.best
    assert triple is not None and best is not None
    request = triple.request
    others = outcome.result.candidates[1:]
    change = triple.change
    text = render(
        "triage_match.md.j2",
        by_id=best.by_id,
        score=best.score,
        runner_up=others[0].score if others and not best.by_id else None,
        request_id=request.request_id,
        tenant=request.tenant,
        tenant_scoped=outcome.tenants is not None,
        prompt_version=request.prompt_version,
        change={
            "previous": change.previous,
            "first_seen": change.first_seen,
            "added": len(change.added),
            "removed": len(change.removed),
        }
        if change
        else None,
        model=request.model,
        model_requested=request.model_requested,
        fingerprint=request.system_fingerprint,
        provider=request.provider,
        docs=[{"doc_id": d.doc_id, "source": d.source, "score": d.score} for d in triple.docs[:10]],
        prior_turns=len(triple.prior_turns),
        body_purged=triple.body_purged,
    )
    blocks = [
        b.header(truncate_text(f"Triage: {request.request_id} ({request.tenant})", HEADER_TEXT)),
        _section(text),
        _section(_facts_text(request)),
    ]
    if outcome.blast is not None:
        blocks.append(_section(_blast_text(outcome.blast, outcome.tenants is not None)))
    value = ref(int(request.id or 0))
    blocks.append(
        b.actions(
            b.button("Full prompt & context", FULL_ACTION, value=value),
            b.button("Export replay bundle", EXPORT_ACTION, value=value),
            b.button("Similar requests", SIMILAR_ACTION, value=value),
            b.button("Screenshot runbook", RUNBOOK_ACTION, value=value),
        )
    )
    if outcome.timings_ms.get("total"):
        blocks.append(b.context(f"Read and matched in {outcome.timings_ms['total'] / 1000:.1f} s"))
    return Card(
        text=f"Triage: {request.request_id} ({request.tenant}), {request.prompt_version} on {request.model}",
        blocks=blocks,
    )


def _candidate_blocks(rank: int, candidate: Candidate) -> list[dict[str, Any]]:
    request = candidate.request
    text = render(
        "triage_candidate.md.j2",
        rank=rank,
        request_id=request.request_id,
        score=candidate.score,
        tenant=request.tenant,
        when=_when(request),
        prompt_version=request.prompt_version,
        model=request.model,
        intent=request.intent,
        path=request.path,
    )
    button = b.button("This one", PICK_ACTION, value=ref(int(request.id or 0)))
    return [b.section(truncate_text(text, SECTION_TEXT), accessory=button)]


def _read_text(outcome: TriageOutcome) -> str:
    if outcome.read is not None:
        return outcome.read.answer or outcome.read.raw_text
    return outcome.query or ""


def unsure_card(outcome: TriageOutcome) -> Card:
    """Below the confidence threshold: the top three with their scores and a button to pick one."""
    shown = outcome.result.candidates[:PICKS]
    by_id = bool(shown and shown[0].by_id)
    intro = render(
        "triage_unsure.md.j2",
        by_id=by_id,
        query=outcome.query or "",
        count=len(shown),
        searched=outcome.result.searched,
    )
    blocks = [b.header("Triage: which request is it?"), _section(intro)]
    for rank, candidate in enumerate(shown, 1):
        blocks.extend(_candidate_blocks(rank, candidate))
    read = _read_text(outcome)
    if read and not by_id:
        blocks.append(b.context(truncate_text(f"Read: {_fenced(read, 600)}", 2000)))
    return Card(text="Triage: not sure which request this is; pick one of the candidates", blocks=blocks)


def not_found_card(outcome: TriageOutcome) -> Card:
    """Nothing matched: say so, and show what was read so the person can refine the search."""
    text = render(
        "triage_not_found.md.j2", read=_fenced(_read_text(outcome)), tenant_scoped=outcome.tenants is not None
    )
    return Card(text="Triage: no logged request matches", blocks=[b.header("Triage: no match"), _section(text)])


def outcome_card(outcome: TriageOutcome) -> Card:
    """The card for any outcome."""
    if outcome.kind == "match":
        return match_card(outcome)
    if outcome.kind == "unsure":
        return unsure_card(outcome)
    return not_found_card(outcome)


def full_card(triple: Triple) -> Card:
    """Responders only, ephemeral: the system prompt and its change, the conversation, the documents, the answer."""
    request = triple.request
    change = triple.change
    texts = [
        render(
            "triage_full.md.j2",
            prompt_version=request.prompt_version,
            system=_fenced(triple.system or "", 2500) if triple.system else None,
            change=change,
        ),
        render("triage_turns.md.j2", turns=[(role, truncate_text(c, 600)) for role, c in triple.turns[-8:]]),
        render(
            "triage_docs.md.j2",
            docs=[
                {"doc_id": d.doc_id, "source": d.source, "score": d.score, "text": truncate_text(d.text, 400)}
                for d in triple.docs[:8]
            ],
        ),
        render("triage_response.md.j2", response=_fenced(triple.response or "", 2500) if triple.response else None),
    ]
    blocks = [b.header(truncate_text(f"Full triple: {request.request_id}", HEADER_TEXT))]
    blocks.extend(_section(text) for text in texts)
    blocks.append(b.context("Only you can see this. Do not paste it into public channels."))
    return Card(text=f"Full prompt and context of {request.request_id}", blocks=blocks)


def similar_card(rows: list[LLMRequest], *, prompt_version: str, model: str) -> Card:
    """The newest near-duplicates, by id and time only (no bodies, no users)."""
    text = render(
        "triage_similar.md.j2",
        rows=[{"request_id": r.request_id, "tenant": r.tenant, "when": _when(r), "path": r.path} for r in rows],
        prompt_version=prompt_version,
        model=model,
    )
    return Card(text="Similar requests", blocks=[_section(text)])


def upload_modal(channel_id: str) -> dict[str, Any]:
    """The /triage modal: one screenshot (PNG, JPEG or WebP, up to 10 MB) and an optional note."""
    return b.modal(
        "Triage a screenshot",
        [
            b.input_block(
                "Screenshot",
                b.file_input(FILE_ACTION, filetypes=["png", "jpg", "jpeg", "webp"]),
                block_id=FILE_BLOCK,
                hint="PNG, JPEG or WebP, up to 10 MB. The answer is matched to the logged request.",
            ),
            b.input_block(
                "Note",
                b.plain_text_input(NOTE_ACTION, multiline=True, max_length=500),
                block_id=NOTE_BLOCK,
                optional=True,
            ),
        ],
        callback_id=UPLOAD_CALLBACK,
        submit="Triage",
        close="Cancel",
        private_metadata=orjson.dumps({"channel": channel_id}).decode(),
    )
