"""Labelling cards: one per sampled item (redacted in the channel), the batch summary, the full text and note modal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import HEADER_TEXT, SECTION_TEXT, truncate_text
from bot.cards.text import render
from bot.errors import UserError
from storage.evals_models import EvalBatch, EvalBatchItem, EvalLabel
from storage.models import LLMRequest

LABEL_ACTION = "evals_label"
"""Prefix of the three verdict buttons (action ids must differ within a block): evals_label_pass, …"""
CATEGORY_ACTION = "evals_category"
NOTE_ACTION = "evals_note"
FULL_ACTION = "evals_full"
NOTE_CALLBACK = "evals_note_modal"
NOTE_BLOCK, NOTE_INPUT = "evals_note", "note"
SHOWN_TEXT = 700
LABELS = ("pass", "fail", "unsure")


def item_key(item_id: int) -> str:
    return f"evals:item:{item_id}"


def batch_key(batch_id: int) -> str:
    return f"evals:batch:{batch_id}"


def ref(item_id: int, **extra: str) -> str:
    """A button value naming a batch item (and the label or category chosen)."""
    return orjson.dumps({"item": item_id, **extra}).decode()


def parse_ref(value: str) -> dict[str, Any]:
    try:
        data = orjson.loads(value or "{}")
        int(data["item"])
        return data
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise UserError("this labelling control carries no item reference; the batch card may be outdated") from None


def agreement(labels: Sequence[EvalLabel]) -> str | None:
    """'agree' or 'disagree' once two people gave a pass/fail verdict on the item."""
    verdicts = [x.label for x in labels if x.label in ("pass", "fail")]
    if len(verdicts) < 2:
        return None
    return "labellers agree" if len(set(verdicts)) == 1 else "labellers disagree"


@dataclass(frozen=True)
class ItemView:
    """What an item card shows: the sampled item, its request's metadata (no bodies), the labels so far."""

    item: EvalBatchItem
    batch_items: int
    request: LLMRequest | None
    docs: int
    turns: int
    body_purged: bool
    labels: list[EvalLabel]


def item_card(view: ItemView, categories: Sequence[str]) -> Card:
    """The channel card of one sampled request: metadata only, the verdict buttons, the category menu."""
    item = view.item
    item_id = int(item.id or 0)
    req = view.request
    text = render(
        "evals_item.md.j2",
        request_id=item.request_id,
        tenant=item.tenant,
        intent=item.intent,
        prompt_version=item.prompt_version,
        model=req.model if req else "unknown",
        when=datetime.fromtimestamp(req.ts_ms / 1000, UTC) if req else datetime.now(UTC),
        docs=view.docs,
        turns=view.turns,
        body_purged=view.body_purged,
    )
    blocks = [
        b.header(
            truncate_text(
                f"Label {item.position}/{view.batch_items}: {item.intent} · {item.prompt_version}", HEADER_TEXT
            )
        ),
        b.section(truncate_text(text, SECTION_TEXT)),
        b.actions(
            b.button("Pass", f"{LABEL_ACTION}_pass", value=ref(item_id, label="pass"), style="primary"),
            b.button("Fail", f"{LABEL_ACTION}_fail", value=ref(item_id, label="fail"), style="danger"),
            b.button("Unsure", f"{LABEL_ACTION}_unsure", value=ref(item_id, label="unsure")),
            b.static_select(
                CATEGORY_ACTION,
                [(c.replace("_", " "), ref(item_id, category=c)) for c in categories],
                placeholder="Failure category",
            ),
            b.button("Add note", NOTE_ACTION, value=ref(item_id)),
            b.button("Show full text", FULL_ACTION, value=ref(item_id)),
            block_id=f"evals_item_{item_id}",
        ),
    ]
    if view.labels:
        shown = render("evals_item_labels.md.j2", labels=view.labels, agreement=agreement(view.labels))
        blocks.append(b.context(truncate_text(shown, SECTION_TEXT)))
    else:
        blocks.append(b.context("No label yet."))
    return Card(text=f"Label {item.intent} ({item.prompt_version}): request {item.request_id}", blocks=blocks)


def batch_card(batch: EvalBatch, items: Sequence[EvalBatchItem], labels: dict[int, list[EvalLabel]]) -> Card:
    """The batch summary: window, seed, progress overall and per intent, agreement where two labelled."""
    per_intent: dict[str, dict[str, Any]] = {}
    labelled = doubled = agree = 0
    for item in items:
        mine = labels.get(int(item.id or 0), [])
        row = per_intent.setdefault(
            item.intent, {"intent": item.intent, "items": 0, "labelled": 0, "passed": 0, "failed": 0, "unsure": 0}
        )
        row["items"] += 1
        if mine:
            labelled += 1
            row["labelled"] += 1
        for label in mine:
            row[{"pass": "passed", "fail": "failed"}.get(label.label, "unsure")] += 1
        verdict = agreement(mine)
        if verdict is not None:
            doubled += 1
            agree += verdict == "labellers agree"
    text = render(
        "evals_batch.md.j2",
        items=len(items),
        start=datetime.fromtimestamp(batch.window_start_ms / 1000, UTC),
        end=datetime.fromtimestamp(batch.window_end_ms / 1000, UTC),
        seed=str(batch.seed),
        labelled=labelled,
        doubled=doubled,
        agreement=agree / doubled if doubled else None,
        intents=sorted(per_intent.values(), key=lambda r: r["intent"]),
    )
    title = f"Labelling batch #{batch.id}: {labelled}/{len(items)} labelled"
    return Card(
        text=title, blocks=[b.header(truncate_text(title, HEADER_TEXT)), b.section(truncate_text(text, SECTION_TEXT))]
    )


def full_card(item: EvalBatchItem, triple: dict[str, Any]) -> Card:
    """Prompt, context and answer of one item, for the labellers' eyes only (sent ephemeral)."""
    clip = lambda s: truncate_text(str(s or "").replace("```", "'''"), SHOWN_TEXT)  # noqa: E731
    text = render(
        "evals_full.md.j2",
        request_id=item.request_id,
        tenant=item.tenant,
        intent=item.intent,
        prompt_version=item.prompt_version,
        body_purged=triple["body_purged"],
        system=clip(triple.get("system")),
        turns=[(role, clip(content)) for role, content in triple.get("turns", [])][-6:],
        docs=[{**d, "text": clip(d.get("text"))[:300]} for d in triple.get("docs", [])][:5],
        response=clip(triple.get("response")),
    )
    chunks = [text[i : i + SECTION_TEXT] for i in range(0, len(text), SECTION_TEXT)][:10]
    return Card(text=f"Full text of {item.request_id}", blocks=[b.section(c) for c in chunks])


def note_modal(item: EvalBatchItem, current: str | None, channel: str) -> dict[str, Any]:
    """The note dialog; the item travels in private_metadata."""
    field = b.plain_text_input(NOTE_INPUT, multiline=True, initial_value=current or None, max_length=2000)
    return b.modal(
        "Note on this item",
        [
            b.section(truncate_text(f"{item.request_id} · {item.intent} · {item.prompt_version}", SECTION_TEXT)),
            b.input_block("Note", field, block_id=NOTE_BLOCK),
        ],
        callback_id=NOTE_CALLBACK,
        submit="Save",
        close="Cancel",
        private_metadata=ref(int(item.id or 0), channel=channel),
    )
