from __future__ import annotations

import pytest

from bot.alerts import actions
from bot.alerts.escalation import escalate_due
from bot.alerts.service import receive
from bot.errors import UserError
from bot.services import Services
from tests.alerts.helpers import ONCALL, T0, alert, configure, detector_alert, later, messages, text_of


def _thread(services: Services) -> list[str]:
    return [text_of(m) for m in messages(services) if m["thread_key"]]


def test_acknowledge_updates_the_card_and_adds_a_timeline_line(services: Services) -> None:
    [r] = receive(services, [alert()], T0, forward=False)
    actions.acknowledge(services, r.alert_id, "U0ONCALL1", later(2), forward=False)
    update = [m for m in messages(services) if m["kind"] == "update"][-1]
    assert update["card_key"] == r.card_key
    assert "Acknowledged" in text_of(update) and "alert_ack" not in text_of(update)
    assert "<@U0ONCALL1> acknowledged" in _thread(services)[-1]
    with pytest.raises(UserError, match="already acknowledged"):
        actions.acknowledge(services, r.alert_id, "U0OTHER01", later(3), forward=False)


def test_resolve_by_hand_then_late_resend_does_not_reopen(services: Services) -> None:
    [r] = receive(services, [alert()], T0, forward=False)
    actions.resolve(services, r.alert_id, "U0ONCALL1", later(30), forward=False)
    assert "<@U0ONCALL1> resolved after 30m" in _thread(services)[-1]
    assert "RESOLVED" in text_of([m for m in messages(services) if m["kind"] == "update"][-1])
    assert receive(services, [alert()], later(31), forward=False)[0].action == "ignored"
    with pytest.raises(UserError, match="already resolved"):
        actions.resolve(services, r.alert_id, "U0ONCALL1", later(32), forward=False)


def test_silence_stops_escalation_and_says_so(services: Services) -> None:
    configure(services, oncall=ONCALL)
    [r] = receive(services, [alert()], T0, forward=False)
    actions.silence(services, r.alert_id, "U0ONCALL1", "4h", later(1))
    assert "silenced for 4 h" in _thread(services)[-1]
    assert escalate_due(services, later(10)) == 0
    with pytest.raises(UserError, match="choose one of"):
        actions.silence(services, r.alert_id, "U0ONCALL1", "2d", later(1))


def test_runbook_and_sample_requests(services: Services) -> None:
    [r] = receive(services, [detector_alert()], T0, forward=False)
    view = actions.runbook_view(services, r.alert_id)
    assert view["type"] == "modal" and "tenant" in text_of({"payload": view})
    card = actions.sample_requests(services, r.alert_id)
    assert "/triage req_a1" in text_of({"payload": card.to_message()})


def test_bad_button_values_are_refused_clearly(services: Services) -> None:
    with pytest.raises(UserError, match="does not name an alert"):
        actions.parse_alert_ref("drop table")
    with pytest.raises(UserError, match="no longer exists"):
        actions.acknowledge(services, 999, "U0X", T0, forward=False)


def test_unacknowledged_page_escalates_to_the_secondary_once(services: Services) -> None:
    configure(services, oncall={**ONCALL, "escalate_after_minutes": 5})
    receive(services, [alert()], T0, forward=False)
    assert escalate_due(services, later(4)) == 0
    assert escalate_due(services, later(5)) == 1
    dms = [m for m in messages(services) if m["kind"] == "dm"]
    assert [d["user"] for d in dms] == ["U0PRIMARY", "U0SECOND1"]
    assert "escalated to <@U0SECOND1>" in _thread(services)[-1]
    assert "not acknowledged within 5 min" in _thread(services)[-1]
    assert escalate_due(services, later(6)) == 0  # once


def test_acknowledged_page_does_not_escalate(services: Services) -> None:
    configure(services, oncall=ONCALL)
    [r] = receive(services, [alert()], T0, forward=False)
    actions.acknowledge(services, r.alert_id, "U0PRIMARY", later(3), forward=False)
    assert escalate_due(services, later(10)) == 0


def test_escalation_without_a_secondary_says_so(services: Services) -> None:
    configure(services, oncall={"users": ["U0PRIMARY"]})
    receive(services, [alert()], T0, forward=False)
    assert escalate_due(services, later(5)) == 1
    assert "no secondary is configured" in _thread(services)[-1]
