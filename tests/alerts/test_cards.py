from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from bot.alerts import cards
from bot.alerts.home import open_alerts
from bot.alerts.service import receive
from bot.cards.blocks import Card
from bot.cards.limits import check_payload
from bot.services import Services
from storage import alerts as store
from storage.alerts_models import Alert, AlertDigest
from tests.alerts.helpers import T0, alert, detector_alert

HUGE = "x" * 20_000


def _row(**overrides: object) -> Alert:
    base = {
        "id": 7,
        "fingerprint": "generic:a",
        "source": "generic",
        "status": "firing",
        "title": "OpenAI 5xx",
        "severity": "critical",
        "labels": orjson.dumps({"alertname": "ProviderErrors", "tenant": "acme"}).decode(),
        "starts_at": T0,
        "first_seen": T0,
        "last_seen": T0,
        "channel": "#ai-oncall",
        "card_posted": True,
    }
    return Alert(**{**base, **overrides})


def _huge_row() -> Alert:
    labels = {f"label{n}": HUGE for n in range(30)} | {"alertname": HUGE, "tenant": HUGE}
    evidence = {
        "summary": HUGE,
        "figures": [[HUGE, HUGE]] * 40,
        "cohort": {HUGE[:50]: HUGE},
        "sample_request_ids": [HUGE] * 30,
    }
    return _row(
        title=HUGE,
        fingerprint=HUGE[:255],
        labels=orjson.dumps(labels).decode(),
        annotations=orjson.dumps({"description": HUGE, "summary": HUGE}).decode(),
        evidence=orjson.dumps(evidence).decode(),
        members=orjson.dumps([HUGE] * 200).decode(),
        generator_url="https://example.com/" + HUGE,
        dashboard_url="https://grafana.example.com/d/x",
        acked_by="U0ACKER01",
        acked_at=T0,
        paged_user="U0PRIMARY",
        escalated_to="S0ONCALL1",
    )


@pytest.mark.parametrize("row", [_row(), _huge_row(), _row(status="resolved", resolved_by="U0X", resolved_at=T0)])
def test_triage_card_passes_slack_limits(row: Alert) -> None:
    card = cards.triage_card(row, T0 + timedelta(minutes=3))
    assert card.problems() == []


def test_every_other_surface_passes_slack_limits() -> None:
    row = _huge_row()
    digest = AlertDigest(id=3, channel="#ai-oncall", opened_at=T0, updated_at=T0)
    many = [_row(id=n, title=HUGE if n % 2 else f"kind {n % 30}", status="firing") for n in range(300)]
    for card in (
        cards.digest_card(digest, many, T0, "U0PRIMARY"),
        cards.page_card(row, reason=HUGE),
        cards.requests_card(row),
        Card(text=cards.timeline_text(T0, "U0X", HUGE)),
    ):
        assert card.problems() == []
    assert check_payload(cards.runbook_modal(row), surface="modal") == []


def test_card_content_escapes_what_sources_send() -> None:
    row = _row(title="<!channel> boom", labels=orjson.dumps({"alertname": "<@U123> & co"}).decode())
    message = cards.triage_card(row, T0).to_message()
    # Headers are plain_text (never parsed for mentions); the fallback text and every mrkdwn block are escaped.
    body = orjson.dumps([message["text"], *[b for b in message["blocks"] if b["type"] != "header"]]).decode()
    assert "<!channel>" not in body and "<@U123>" not in body and "&lt;@U123&gt; &amp; co" in body


def test_kill_switch_button_value_is_the_agreed_json() -> None:
    labels = {"detector": "cost_burn", "cause": "noisy_tenant", "tenant": "acme"}
    row = _row(labels=orjson.dumps(labels).decode())
    actions = next(b for b in cards.triage_card(row, T0).blocks if b["type"] == "actions")
    kill = next(e for e in actions["elements"] if e.get("action_id") == "killswitch_open")
    assert orjson.loads(kill["value"]) == {"flag": "assistant", "scope": {"tenant": "acme"}, "card_key": "alert:7"}
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids[:4] == ["alert_ack", "alert_resolve", "alert_silence", "alert_runbook"]


def test_resolved_card_keeps_only_the_runbook_button() -> None:
    row = _row(status="resolved", resolved_at=T0, ends_at=T0 + timedelta(minutes=4))
    actions = next(b for b in cards.triage_card(row, T0).blocks if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["alert_runbook"]


def test_runbook_modal_shows_every_step_with_labels_filled() -> None:
    labels = {"detector": "cost_burn", "cause": "noisy_tenant", "tenant": "acme"}
    view = cards.runbook_modal(_row(labels=orjson.dumps(labels).decode()))
    text = orjson.dumps(view).decode()
    assert "tenant=acme" in text and "5." in text and "Resolve when" in text


def test_home_section_lists_open_alerts(services: Services) -> None:
    receive(services, [alert("a"), detector_alert()], T0, forward=False)
    receive(services, [alert("a", status="resolved", ends_at=T0)], T0, forward=False)
    blocks = open_alerts(services, T0 + timedelta(minutes=5))
    text = orjson.dumps(blocks).decode()
    assert "Open alerts" in text and "Cost burn" in text and "OpenAI" not in text and "1 firing" in text
    with services.db.session() as session:
        assert store.count_open_alerts(session=session) == 1
