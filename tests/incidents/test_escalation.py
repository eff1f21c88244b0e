"""Escalation steps with an injected clock: three steps, one that finds nobody, an acknowledgement stopping it."""

from __future__ import annotations

from bot.alerts import actions
from bot.alerts.escalation import escalate_due
from bot.alerts.service import receive
from bot.oncall.escalation import escalate_steps
from bot.services import Services
from tests.alerts.helpers import T0, alert, configure, later, messages, text_of

STEPS = [
    {"after_minutes": 5, "notify": "secondary"},
    {"after_minutes": 10, "notify": "S0EMPTY01"},
    {"after_minutes": 30, "notify": "C0LEADS01"},
]


def _setup(services: Services) -> list[int]:
    configure(
        services,
        oncall={"users": ["U0PRIMARY"], "rotation_start": "2026-11-23", "secondary": "U0SECOND1", "escalation": STEPS},
    )
    got = receive(services, [alert("a"), alert("b", title="Second outage")], T0, forward=False)
    return [r.alert_id for r in got]


def _members(group: str) -> set[str]:
    return set()  # the group exists but has nobody in it right now


def _dms(services: Services, user: str) -> list[dict]:
    return [m for m in messages(services) if m["kind"] == "dm" and m["user"] == user]


def test_steps_run_in_order_a_step_with_nobody_passes_on_and_an_ack_stops(services: Services) -> None:
    first, second = _setup(services)
    assert len(_dms(services, "U0PRIMARY")) == 2  # the page itself
    assert escalate_steps(services, later(4), _members) == 0
    assert escalate_steps(services, later(5), _members) == 2  # step 1: the secondary, for both alerts
    assert len(_dms(services, "U0SECOND1")) == 2
    actions.acknowledge(services, second, "U0SECOND1", later(6), forward=False)

    # At 10 min step 2 finds nobody in the group: step 3 (due at 30) runs at once, for the unacked alert only.
    assert escalate_steps(services, later(10), _members) == 1
    leads = [m for m in messages(services) if m["channel"] == "C0LEADS01"]
    assert len(leads) == 1 and "OpenAI 5xx" in text_of(leads[0]) and "<!channel>" in text_of(leads[0])
    thread = [text_of(m) for m in messages(services) if m["thread_key"] == f"alert:{first}"]
    assert any("step 2 (S0EMPTY01, 10 min) found nobody: passing to the next step" in t for t in thread)
    assert any("step 3 (C0LEADS01, 30 min): notified" in t for t in thread)
    assert not any(
        "step 2" in text_of(m) or "step 3" in text_of(m)
        for m in messages(services)
        if m["thread_key"] == f"alert:{second}"
    )

    # Nothing is left to do; later runs stay quiet.
    assert escalate_steps(services, later(45), _members) == 0
    assert len([m for m in messages(services) if m["channel"] == "C0LEADS01"]) == 1


def test_the_minute_job_uses_the_steps_when_configured(services: Services) -> None:
    _setup(services)
    assert escalate_due(services, later(5)) == 2
    assert len(_dms(services, "U0SECOND1")) == 2


def test_a_group_with_members_is_notified_on_the_card(services: Services) -> None:
    [first, _] = _setup(services)
    escalate_steps(services, later(10), lambda group: {"U0LEAD0001"})
    thread = [text_of(m) for m in messages(services) if m["thread_key"] == f"alert:{first}"]
    assert any("step 2 (S0EMPTY01, 10 min): notified <!subteam^S0EMPTY01>" in t for t in thread)
    assert not [m for m in messages(services) if m["channel"] == "C0LEADS01"]
