"""Findings sharing an incident key make one card listing every cohort, updated in place, resolved last."""

from __future__ import annotations

import orjson

from bot.cards.limits import check_payload
from bot.config import FileConfig
from bot.services import Services
from storage import outbox as outbox_store
from tests.detectors.helpers import alerts, card_messages, members, run
from tests.detectors.scripted import Script, finding

ACME, GLOBEX = {"tenant": "acme"}, {"tenant": "globex"}


def _card_text(services: Services, card_key: str) -> str:
    with services.db.session() as session:
        msgs = [m for m in outbox_store.list_messages(session=session, limit=500) if m.card_key == card_key]
    payload = orjson.loads(msgs[-1].payload)
    assert check_payload(payload, surface="message") == []
    return orjson.dumps(payload).decode()


def test_two_findings_of_one_incident_share_one_card_until_both_recover(services: Services, script: Script) -> None:
    services.settings.file = FileConfig.model_validate({"detectors": {"resolve_after_by": {"scripted": 1}}})
    script.firing = [finding(ACME, incident="leak-1"), finding(GLOBEX, incident="leak-1", severity="critical")]
    found = run(services, 0)
    assert {f.incident for f in found} == {"leak-1"}
    [card] = alerts(services)
    assert card.fingerprint == "afterlaunch:leak-1" and card.status == "firing" and card.severity == "critical"
    lines = members(card)
    assert len(lines) == 2 and any("tenant=acme" in m for m in lines) and any("tenant=globex" in m for m in lines)
    assert "+1 more cohort" in card.title
    text = _card_text(services, card.card_key)
    assert "tenant=acme" in text and "tenant=globex" in text

    script.firing = [finding(GLOBEX, incident="leak-1", severity="critical")]  # acme recovers
    assert sorted((f.key, f.status) for f in run(services, 1)) == [
        ("scripted:tenant=acme", "resolved"),
        ("scripted:tenant=globex", "firing"),
    ]
    [card] = alerts(services)
    assert card.status == "firing"
    acme = next(m for m in members(card) if "tenant=acme" in m)
    assert "recovered" in acme and "firing" in next(m for m in members(card) if "tenant=globex" in m)
    assert card_messages(services, card.card_key).count("post") == 1
    assert "recovered" in _card_text(services, card.card_key)

    script.firing = []  # globex recovers too: the incident resolves
    [last] = run(services, 2)
    assert (last.key, last.status) == ("scripted:tenant=globex", "resolved")
    [card] = alerts(services)
    assert card.status == "resolved" and len(members(card)) == 2
    assert all("recovered" in m for m in members(card))


def test_a_cohort_going_quiet_stays_listed_while_the_others_fire(services: Services, script: Script) -> None:
    script.firing = [finding(ACME, incident="leak-2"), finding(GLOBEX, incident="leak-2")]
    run(services, 0)
    script.firing = [finding(GLOBEX, incident="leak-2")]
    assert [(f.key, f.status) for f in run(services, 1)] == [("scripted:tenant=globex", "firing")]
    [card] = alerts(services)
    assert card.status == "firing" and any("quiet for 1" in m and "tenant=acme" in m for m in members(card))


def test_findings_of_different_incidents_make_separate_cards(services: Services, script: Script) -> None:
    script.firing = [finding(ACME), finding(GLOBEX)]
    run(services, 0)
    assert sorted(a.fingerprint for a in alerts(services)) == [
        "afterlaunch:scripted:tenant=acme",
        "afterlaunch:scripted:tenant=globex",
    ]
    assert all(members(a) == [] for a in alerts(services))  # a lone finding keeps the plain card
