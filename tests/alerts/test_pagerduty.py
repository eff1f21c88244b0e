from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.alerts import actions
from bot.alerts.pagerduty import PagerDutyClient, PagerDutyError, forward_lagging
from bot.alerts.service import receive
from bot.services import Services
from tests.alerts.helpers import T0, alert, later
from tests.alerts.pagerduty_standin import PagerDutyStandIn


@pytest.fixture
def pd(services: Services) -> Iterator[PagerDutyStandIn]:
    with PagerDutyStandIn() as standin:
        services.settings = services.settings.model_copy(
            update={"pagerduty_routing_key": SecretStr("R0UTINGKEY"), "pagerduty_events_url": standin.url}
        )
        yield standin


def _client(pd: PagerDutyStandIn) -> PagerDutyClient:
    return PagerDutyClient(pd.url, "R0UTINGKEY", sleep=lambda s: None)


def test_forward_follows_the_card_and_is_idempotent(services: Services, pd: PagerDutyStandIn) -> None:
    [r] = receive(services, [alert()], T0, forward=False)
    client = _client(pd)
    assert forward_lagging(services, T0, client=client) == 1
    assert forward_lagging(services, T0, client=client) == 0  # nothing new: nothing sent
    receive(services, [alert()], later(1), forward=False)  # a resend changes nothing for PagerDuty
    assert forward_lagging(services, later(1), client=client) == 0
    actions.acknowledge(services, r.alert_id, "U0ONCALL1", later(2), forward=False)
    actions.resolve(services, r.alert_id, "U0ONCALL1", later(3), forward=False)
    assert forward_lagging(services, later(3), client=client) == 1  # straight to the newest state
    assert forward_lagging(services, later(4), client=client) == 0
    assert pd.actions() == [("trigger", "generic:provider-5xx"), ("resolve", "generic:provider-5xx")]
    first = pd.events[0]
    assert first["routing_key"] == "R0UTINGKEY" and first["payload"]["severity"] == "critical"
    assert first["payload"]["summary"] == "OpenAI 5xx above 5%"


def test_acknowledge_is_forwarded(services: Services, pd: PagerDutyStandIn) -> None:
    [r] = receive(services, [alert()], T0, forward=False)
    client = _client(pd)
    forward_lagging(services, T0, client=client)
    actions.acknowledge(services, r.alert_id, "U0ONCALL1", later(2), forward=False)
    forward_lagging(services, later(2), client=client)
    assert [a for a, _ in pd.actions()] == ["trigger", "acknowledge"]
    assert pd.incidents["generic:provider-5xx"] == "acknowledged"


def test_retries_on_429_and_5xx_then_succeeds(services: Services, pd: PagerDutyStandIn) -> None:
    receive(services, [alert()], T0, forward=False)
    pd.fail_next(429)
    pd.fail_next(503)
    waits: list[float] = []
    client = PagerDutyClient(pd.url, "R0UTINGKEY", sleep=waits.append)
    assert forward_lagging(services, T0, client=client) == 1
    assert len(waits) == 2 and pd.actions() == [("trigger", "generic:provider-5xx")]


def test_gives_up_after_retries_and_catches_up_later(services: Services, pd: PagerDutyStandIn) -> None:
    receive(services, [alert()], T0, forward=False)
    pd.fail_next(500, times=4)
    client = _client(pd)
    assert forward_lagging(services, T0, client=client) == 0
    assert forward_lagging(services, later(1), client=client) == 1  # the escalation job's next run
    assert pd.actions() == [("trigger", "generic:provider-5xx")]


def test_a_refused_event_is_not_retried(pd: PagerDutyStandIn) -> None:
    pd.fail_next(400)
    with pytest.raises(PagerDutyError) as err:
        _client(pd).send("trigger", "k", {"summary": "s", "source": "x", "severity": "error"})
    assert not err.value.retry and len(pd.failures) == 0


def test_low_severity_is_not_forwarded(services: Services, pd: PagerDutyStandIn) -> None:
    receive(services, [alert(severity="low")], T0, forward=False)
    assert forward_lagging(services, T0, client=_client(pd)) == 0
