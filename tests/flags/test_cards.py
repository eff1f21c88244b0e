from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cards.limits import check_payload
from bot.flags import cards
from bot.flags.blast import Blast
from bot.flags.model import FlagView, Snapshot
from storage.flags_models import FlagAudit, FlagRequest

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
BLAST = Blast(120, 3.5, 1000, 20.0)


@pytest.mark.parametrize("size", [10, 20_000])
def test_every_card_fits_slack(size: int) -> None:
    long = "x" * size
    scope = {"tenant": "t" * 128, "intent": "i" * 128, "model": "m" * 128}
    flag = FlagView("assistant", description=long, owner="S0AIOPS", require_second_approver=True, kills=(scope, {}))
    many = Snapshot(1, {f"f{i}": FlagView(f"f{i}", description=long, kills=(scope,)) for i in range(60)})
    row = FlagAudit(
        at=NOW,
        flag_key="assistant",
        action="kill",
        outcome="done",
        actor="U0ONCALL1",
        scope='{"tenant":"acme"}',
        reason=long,
        from_state=long,
        to_state=long,
        detail=long,
    )
    request = FlagRequest(
        id=7, flag_key="assistant", action="kill", scope="{}", reason=long, requested_by="U0A", created_at=NOW
    )
    for card in (
        cards.list_card(many),
        cards.status_card(flag, BLAST, 3),
        cards.history_card("assistant", [row] * 20),
        cards.announcement(row, alert=long),
        cards.approval_card(request),
    ):
        assert card.problems() == []
    view = cards.confirm_modal(flag, "kill", scope, BLAST, card_key="k" * 200, channel="C0AIOPS01")
    assert check_payload(view, surface="modal") == []
    home = {"type": "home", "blocks": cards.home_blocks(many, 2)}
    assert check_payload(home, surface="home") == []


def test_modal_shows_the_blast_radius_and_asks_for_a_reason() -> None:
    view = cards.confirm_modal(FlagView("assistant"), "kill", {"tenant": "acme"}, BLAST, card_key="", channel="C1")
    text = view["blocks"][0]["text"]["text"]
    assert "12.0%" in text and "17.5%" in text and "tenant=acme" in text
    assert view["blocks"][1]["block_id"] == "reason" and view["blocks"][1]["optional"] is False
