"""/alerts: the open cards grouped by incident, filters, tenant channels, bad input; MTTA/MTTR."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.alerts import actions
from bot.alerts.service import receive
from bot.cards.limits import check_payload
from bot.errors import UserError
from bot.incidents import alerts_view, mtt
from bot.incidents.service import declare
from bot.services import Services
from tests.alerts.helpers import T0, alert, configure, later


def _three(services: Services) -> list[int]:
    got = receive(
        services,
        [
            alert("a", severity="critical", labels={"tenant": "acme"}, title="acme 5xx"),
            alert("b", severity="high", labels={"tenant": "globex"}, title="globex latency"),
            alert("c", severity="medium", labels={"tenant": "acme"}, title="acme refusals"),
        ],
        T0,
        forward=False,
    )
    return [r.alert_id for r in got]


def test_open_alerts_are_grouped_by_incident_with_ack_buttons(services: Services) -> None:
    configure(services, channels={"tenant_channels": {"C0ACME001": "acme"}})
    a, b, c = _three(services)
    actions.acknowledge(services, b, "U0BOB0001", later(2), forward=False)
    incident = declare(services, title="acme is down", severity="sev1", user="U0ALICE01", now=later(3), alert_id=a)
    card = alerts_view.alerts_card(services, alerts_view.parse(""), "U0ALICE01", later(5))
    assert card.problems() == [] and check_payload(card.to_message(), surface="message") == []
    text = str(card.blocks)
    assert text.index(f"Incident {incident.id}: acme is down") < text.index("Not in an incident")
    buttons = [blk["accessory"] for blk in card.blocks if "accessory" in blk]
    assert {(x["action_id"], x["value"]) for x in buttons} == {
        ("alert_ack", str(a)),
        ("alert_ack", str(c)),
        ("incident_declare", str(b)),
    }
    assert "acked by <@U0BOB0001>" in text and "Open alerts: 3" in card.text


def test_filters_mine_and_tenant_channels(services: Services) -> None:
    configure(services, channels={"tenant_channels": {"C0ACME001": "acme"}})
    a, b, _ = _three(services)
    actions.acknowledge(services, b, "U0BOB0001", later(2), forward=False)
    actions.resolve(services, a, "U0BOB0001", later(3), forward=False)
    query = alerts_view.parse("severity=high")
    assert "globex latency" in str(alerts_view.alerts_card(services, query, "U0X", later(4)).blocks)
    mine = alerts_view.alerts_card(services, alerts_view.parse("mine"), "U0BOB0001", later(4))
    assert "Your alerts: 1" in mine.text
    scoped = alerts_view.scoped(services, alerts_view.parse("all"), "C0ACME001")
    shown = str(alerts_view.alerts_card(services, scoped, "U0X", later(4)).blocks)
    assert "acme 5xx" in shown and "acme refusals" in shown and "globex" not in shown
    with pytest.raises(UserError, match="belongs to tenant acme"):
        alerts_view.scoped(services, alerts_view.parse("tenant=globex"), "C0ACME001")


@pytest.mark.parametrize("bad", ["severity=urgent", "opne", "tenant="])
def test_bad_arguments_say_what_was_wrong(bad: str) -> None:
    with pytest.raises(UserError, match="Usage: /alerts"):
        alerts_view.parse(bad)


def test_mtta_and_mttr_per_severity_and_source_over_7_and_30_days(services: Services) -> None:
    old = replace(alert("old", severity="critical"), starts_at=T0 - timedelta(days=20))
    fresh = [alert("x", severity="critical"), alert("y", severity="critical"), alert("z", severity="high")]
    got = receive(services, [old, *fresh], T0, forward=False)
    ids = {r.fingerprint.split(":")[1]: r.alert_id for r in got}
    actions.acknowledge(services, ids["old"], "U1", T0 - timedelta(days=20) + timedelta(minutes=10), forward=False)
    actions.acknowledge(services, ids["x"], "U1", later(2), forward=False)
    actions.acknowledge(services, ids["y"], "U1", later(4), forward=False)
    actions.resolve(services, ids["x"], "U1", later(30), forward=False)
    data = mtt.table(services, later(60))
    week = data["7d"]["severity"]["critical"]
    assert (week[0].seconds, week[0].count) == (pytest.approx(180), 2)  # (2 + 4) / 2 minutes
    assert (week[1].seconds, week[1].count) == (pytest.approx(1800), 1)
    month = data["30d"]["severity"]["critical"]
    assert month[0].count == 3 and month[0].seconds == pytest.approx((120 + 240 + 600) / 3)
    assert "high" not in data["7d"]["severity"] or data["7d"]["severity"]["high"][0].count == 0
    assert data["7d"]["source"]["generic"][0].count == 2


def test_stats_card_and_metrics(services: Services) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    got = receive(services, [alert("x", severity="critical")], T0, forward=False)
    actions.acknowledge(services, got[0].alert_id, "U1", later(2), forward=False)
    card = alerts_view.stats_card(services, later(10))
    assert card.problems() == [] and "severity `critical`: MTTA 2m (1)" in str(card.blocks)
    registry = CollectorRegistry()
    registry.register(mtt.MttCollector(services, clock=lambda: later(10)))
    scraped = generate_latest(registry).decode()
    assert 'afterlaunch_alert_mtta_seconds{by="severity",key="critical",window="7d"} 120.0' in scraped


def test_the_app_home_shows_the_same_list(services: Services) -> None:
    from bot.slack.home import build_home

    a, _, _ = _three(services)
    incident = declare(services, title="acme is down", severity="sev1", user="U0ALICE01", now=later(3), alert_id=a)
    view = build_home(services, later(5))
    text = str(view["blocks"])
    assert "Open alerts: 3" in text and f"Incident {incident.id}: acme is down" in text
    assert text.count("'action_id': 'alert_ack'") == 3 and check_payload(view, surface="home") == []


def test_a_card_attached_later_joins_the_incident(services: Services) -> None:
    from bot.incidents.service import attach_alert
    from bot.incidents.timeline import build
    from storage import incidents as store

    a, b, c = _three(services)
    incident = declare(services, title="acme is down", severity="sev1", user="U0ALICE01", now=later(3), alert_id=a)
    assert incident.id is not None
    attach_alert(services, incident.id, c, later(4))
    with pytest.raises(UserError, match="tenant globex's"):
        attach_alert(services, incident.id, b, later(4))
    card = alerts_view.alerts_card(services, alerts_view.parse(""), "U0X", later(5))
    text = str(card.blocks)
    assert text.index("acme refusals") < text.index("Not in an incident") < text.index("globex latency")
    with services.db.session() as session:
        found = store.get_incident(session=session, incident_id=incident.id)
        assert found is not None
        fired = [e for e in build(session, found, later(6)) if e.kind == "card_fired"]
    assert len(fired) == 2
