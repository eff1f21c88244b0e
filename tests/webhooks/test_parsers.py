from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from bot.webhooks import alertmanager, generic, grafana, pagerduty
from bot.webhooks.common import ParseError, severity_of
from tests.webhooks.payloads import load


def test_alertmanager_group_becomes_one_alert_keyed_by_group_key() -> None:
    [alert] = alertmanager.parse(load("alertmanager_firing"))
    assert alert.source == "alertmanager" and alert.status == "firing"
    assert alert.fingerprint.startswith("alertmanager:")
    assert alert.title == "Provider 5xx above 5%"
    assert alert.severity == "critical"
    assert alert.labels == {"alertname": "LLMProviderErrors", "severity": "critical", "tenant": "acme"}
    assert alert.starts_at.tzinfo is not None and alert.ends_at is None
    assert [m.split(" since")[0] for m in alert.members] == ["firing: instance=gw-0", "firing: instance=gw-1"]
    assert alert.silence_url and "silences/new" in alert.silence_url
    assert alert.generator_url == "http://prometheus.example:9090/graph?g0.expr=rate"


def test_alertmanager_resolved_keeps_the_fingerprint_and_carries_the_end() -> None:
    [firing] = alertmanager.parse(load("alertmanager_firing"))
    [resolved] = alertmanager.parse(load("alertmanager_resolved"))
    assert resolved.fingerprint == firing.fingerprint
    assert resolved.status == "resolved"
    assert resolved.ends_at is not None and resolved.ends_at > resolved.starts_at


def test_alertmanager_ha_pair_duplicates_share_the_fingerprint() -> None:
    other = load("alertmanager_firing")
    other["externalURL"] = "http://alertmanager-2:9093"
    assert alertmanager.parse(other)[0].fingerprint == alertmanager.parse(load("alertmanager_firing"))[0].fingerprint


def test_a_group_with_one_resolved_member_still_fires() -> None:
    payload = load("alertmanager_firing")
    payload["alerts"][0]["status"] = "resolved"
    [alert] = alertmanager.parse(payload)
    assert alert.status == "firing"
    assert alert.members[0].startswith("resolved:")


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p.pop("groupKey"), "groupKey"),
        (lambda p: p.update(alerts=[]), "alerts"),
        (lambda p: p["alerts"][1].update(status="pending"), "alerts[1].status"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda p: p["alerts"][0].update(startsAt="2026-11-26T09:00:00"), "alerts[0].startsAt"),
        (lambda p: p["alerts"][0]["labels"].update(severity=3), "alerts[0].labels.severity"),
        (lambda p: p.update(commonLabels=[]), "commonLabels"),
    ],
)
def test_bad_alertmanager_payloads_name_the_field(mutate, where: str) -> None:
    payload = copy.deepcopy(load("alertmanager_firing"))
    mutate(payload)
    with pytest.raises(ParseError) as err:
        alertmanager.parse(payload)
    assert err.value.where == where
    assert where in str(err.value)


def test_grafana_notification_with_its_links() -> None:
    [alert] = grafana.parse(load("grafana_firing"))
    assert alert.source == "grafana" and alert.status == "firing" and alert.severity == "medium"
    assert alert.title == "p95 latency of the assistant above 8 s"
    assert alert.labels["path"] == "fallback"
    assert alert.dashboard_url and "viewPanel=4" in alert.dashboard_url
    assert alert.silence_url and alert.silence_url.startswith("https://grafana.example.com/alerting/silence/new")
    assert alert.starts_at == datetime(2026, 11, 26, 7, 51, 3, 157076, tzinfo=UTC)
    [resolved] = grafana.parse(load("grafana_resolved"))
    assert resolved.fingerprint == alert.fingerprint and resolved.status == "resolved"


def test_legacy_grafana_payload_is_refused_with_a_pointer() -> None:
    with pytest.raises(ParseError, match="legacy Grafana"):
        grafana.parse({"ruleName": "x", "state": "alerting", "evalMatches": []})


def test_pagerduty_events_map_to_firing_acknowledged_and_resolved() -> None:
    [triggered] = pagerduty.parse(load("pagerduty_triggered"))
    assert triggered.fingerprint == "generic:provider-5xx"  # its incident_key: lands on our own card
    assert triggered.status == "firing" and triggered.severity == "critical" and triggered.acknowledged_by is None
    assert triggered.labels == {"pagerduty_incident": "4521", "service": "AI assistant"}
    [acked] = pagerduty.parse(load("pagerduty_acknowledged"))
    assert acked.status == "firing" and acked.acknowledged_by == "Dana Oncall (PagerDuty)"
    [resolved] = pagerduty.parse(load("pagerduty_resolved"))
    assert resolved.status == "resolved" and resolved.ends_at == datetime(2026, 11, 26, 9, 58, 41, 120000, tzinfo=UTC)


def test_pagerduty_ping_and_other_events_yield_nothing() -> None:
    assert pagerduty.parse(load("pagerduty_ping")) == []
    note = load("pagerduty_triggered")
    note["event"]["event_type"] = "incident.annotated"
    assert pagerduty.parse(note) == []


def test_pagerduty_incident_without_key_gets_its_own_fingerprint() -> None:
    payload = load("pagerduty_triggered")
    payload["event"]["data"]["incident_key"] = None
    assert pagerduty.parse(payload)[0].fingerprint == "pagerduty:Q2KH7R4X9ZLM1A"


def test_pagerduty_signature() -> None:
    body = b'{"event": {}}'
    import hashlib
    import hmac

    good = "v1=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert pagerduty.signature_valid("s3cret", body, good)
    assert pagerduty.signature_valid("s3cret", body, f"v1=deadbeef,{good}")  # during a secret rotation
    assert not pagerduty.signature_valid("s3cret", body + b" ", good)
    assert not pagerduty.signature_valid("s3cret", body, None)


def test_generic_shape() -> None:
    [alert] = generic.parse(load("generic_firing"))
    assert alert.fingerprint == "generic:provider-5xx"
    assert alert.severity == "critical" and alert.generator_url == "https://status.example.com/checks/42"


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda a: a.update(severity="urgent"), "alerts.0.severity"),
        (lambda a: a.update(colour="red"), "alerts.0.colour"),
        (lambda a: a.pop("starts_at"), "alerts.0.starts_at"),
        (lambda a: a.update(starts_at="2026-11-26T09:29:00"), "alerts.0.starts_at"),
        (lambda a: a.update(labels={"n": 1}), "alerts.0.labels.n"),
    ],
)
def test_bad_generic_payloads_name_the_field(mutate, where: str) -> None:
    payload = load("generic_firing")
    mutate(payload["alerts"][0])
    with pytest.raises(ParseError) as err:
        generic.parse(payload)
    assert err.value.where == where


def test_severity_words_have_a_safe_default() -> None:
    assert severity_of("CRITICAL") == "critical"
    assert severity_of("warning") == "medium"
    assert severity_of("P4") == "low"
    assert severity_of("whatever") == "high"
    assert severity_of(None) == "high"
