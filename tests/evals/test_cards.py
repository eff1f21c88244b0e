"""Labelling cards stay within Slack's limits with long names, many categories and many labels."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cards.limits import check_payload
from bot.evals import cards
from storage.evals_models import EvalBatch, EvalBatchItem, EvalLabel


def _item(n: int) -> EvalBatchItem:
    return EvalBatchItem(
        id=n, batch_id=1, position=n, row_id=n, tenant="t" * 128, request_id="r" * 200, intent="i" * 128,
        prompt_version="v" * 128,
    )  # fmt: skip


def _label(n: int, label: str) -> EvalLabel:
    return EvalLabel(
        id=n, tenant="t", request_id="r", labeller=f"U0LAB{n:04d}", label=label, category="c" * 64, note="x",
        ts_ms=0, received_ms=0,
    )  # fmt: skip


def test_item_card_fits_with_long_names_25_categories_and_many_labels() -> None:
    view = cards.ItemView(
        item=_item(1), batch_items=400, request=None, docs=3, turns=2, body_purged=True,
        labels=[_label(n, "pass" if n % 2 else "fail") for n in range(40)],
    )  # fmt: skip
    card = cards.item_card(view, [f"{'c' * 60}{n:02d}" for n in range(25)])
    assert card.problems() == []
    assert "labellers disagree" in str(card.blocks)


def test_batch_and_full_cards_fit() -> None:
    batch = EvalBatch(id=7, created_at=datetime.now(UTC), window_start_ms=0, window_end_ms=1, seed=3, channel="C1")
    items = [_item(n) for n in range(1, 200)]
    labels = {n: [_label(n, "pass"), _label(n + 1000, "pass")] for n in range(1, 200)}
    card = cards.batch_card(batch, items, labels)
    assert card.problems() == [] and "199/199 labelled" in card.text and "agreement 100.0%" in str(card.blocks)
    triple = {
        "body_purged": False, "system": "s" * 50_000, "turns": [("user", "u" * 50_000)] * 20,
        "docs": [{"doc_id": "d", "source": "kb", "text": "t" * 50_000}] * 30, "response": "```" * 10_000,
    }  # fmt: skip
    assert cards.full_card(_item(1), triple).problems() == []
    modal = cards.note_modal(_item(1), "n" * 1999, "C0LABEL01")
    assert check_payload(modal, surface="modal") == []


def test_agreement_needs_two_verdicts() -> None:
    assert cards.agreement([_label(1, "pass"), _label(2, "unsure")]) is None
    assert cards.agreement([_label(1, "fail"), _label(2, "fail")]) == "labellers agree"
