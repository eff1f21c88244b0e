"""Every incident card fits Slack's Block Kit limits, even with long titles and updates."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.incidents import cards
from bot.incidents.slack_out import topic
from storage.alerts_models import Alert
from storage.incidents_models import Incident

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _incident(**kw: object) -> Incident:
    base = dict(
        id=7,
        title="T" * 150,
        severity="sev1",
        channel_name="inc-x",
        declared_by="U0ALICE01",
        declared_at=NOW,
        started_at=NOW,
        last_update_at=NOW,
        status_line="<!channel> " + "u" * 3000,
    )
    return Incident(**{**base, **kw})  # type: ignore[arg-type]


def _alert(n: int) -> Alert:
    return Alert(
        id=n,
        fingerprint=f"f{n}",
        source="generic",
        status="firing",
        title="A" * 2000,
        severity="high",
        starts_at=NOW,
        first_seen=NOW,
        last_seen=NOW,
        channel="C1",
        acked_by="U0BOB0001",
    )


def test_cards_pass_the_block_kit_checks() -> None:
    open_ = _incident(commander="U0BOB0001")
    built = [
        cards.incident_card(open_, [_alert(n) for n in range(30)]),
        cards.incident_card(_incident(status="resolved"), []),
        cards.update_card(open_, "U0BOB0001", "x" * 5000),
        cards.reminder_card(open_, 61, 60),
        cards.resolved_card(open_, "U0BOB0001"),
        cards.runbook_card(_incident(runbook="cost-spike"), "step\n" * 2000),
    ]
    for card in built:
        assert card.problems() == [], card.text[:60]
    assert "<!channel>" not in str(built[0].blocks)  # a status line cannot ping a whole channel
    assert any(e.get("confirm") for blk in built[4].blocks for e in blk.get("elements", []))
    assert topic(open_).startswith("SEV1 | OPEN | IC <@U0BOB0001> | ")
