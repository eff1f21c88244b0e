"""The detector kernel with an injected clock: open, update, hysteresis, failure isolation, dry runs."""

from __future__ import annotations

import logging
from datetime import timedelta

import orjson
import pytest

from bot import capabilities
from bot.config import FileConfig
from bot.services import Services
from tests.detectors.helpers import alarms, alerts, card_messages, row_counts, run
from tests.detectors.scripted import T0, Script, capability, finding

ACME = {"tenant": "acme"}
KEY = "scripted:tenant=acme"


def test_a_finding_opens_one_card_and_later_runs_update_it(services: Services, script: Script) -> None:
    script.firing = [finding(ACME)]
    [first] = run(services, 0)
    assert (first.key, first.status, first.started_at) == (KEY, "firing", T0)
    [alert] = alerts(services)
    assert alert.fingerprint == f"afterlaunch:{KEY}" and alert.status == "firing"

    grown = finding(ACME).with_(
        summary="acme now spends five times its usual hour.", started_at=T0 + timedelta(hours=1)
    )
    script.firing = [grown]
    [again] = run(services, 1)
    assert again.key == KEY and again.started_at == T0  # the alarm began when it first fired
    [alert] = alerts(services)
    assert "five times" in alert.evidence  # type: ignore[operator]
    alarm = alarms(services)[KEY]
    assert (alarm.status, alarm.first_seen, alarm.last_seen, alarm.clean_runs) == (
        "open",
        T0,
        T0 + timedelta(minutes=1),
        0,
    )
    assert card_messages(services, alert.card_key)[:1] == ["post"]
    assert "update" in card_messages(services, alert.card_key)


def test_absence_for_n_evaluations_resolves_it_once(services: Services, script: Script) -> None:
    script.firing = [finding(ACME)]
    run(services, 0)
    script.firing = []
    assert run(services, 1) == [] and run(services, 2) == []
    assert (alarms(services)[KEY].status, alarms(services)[KEY].clean_runs) == ("open", 2)
    assert alerts(services)[0].status == "firing"
    [resolved] = run(services, 3)
    assert (resolved.key, resolved.status, resolved.started_at) == (KEY, "resolved", T0)
    assert alarms(services)[KEY].status == "resolved" and alarms(services)[KEY].resolved_at == T0 + timedelta(minutes=3)
    assert [a.status for a in alerts(services)] == ["resolved"]
    assert run(services, 4) == []
    # a new burn on the same key later opens the alarm afresh, with its own start
    script.firing = [finding(ACME).with_(started_at=T0 + timedelta(minutes=9))]
    [back] = run(services, 10)
    assert back.started_at == T0 + timedelta(minutes=9) and alarms(services)[KEY].first_seen == T0 + timedelta(
        minutes=10
    )


def test_the_number_of_clean_evaluations_is_a_setting(services: Services, script: Script) -> None:
    services.settings.file = FileConfig.model_validate({"detectors": {"resolve_after_by": {"scripted": 1}}})
    script.firing = [finding(ACME)]
    run(services, 0)
    script.firing = []
    assert [f.status for f in run(services, 1)] == ["resolved"]


def test_a_flapping_finding_keeps_one_card_open(services: Services, script: Script) -> None:
    for minute in range(30):
        script.firing = [finding(ACME)] if minute % 3 != 2 else []  # gone one minute in three
        run(services, minute)
    [alert] = alerts(services)
    assert alert.status == "firing" and orjson.loads(alert.flips) == []
    assert card_messages(services, alert.card_key).count("post") == 1
    assert alarms(services)[KEY].first_seen == T0


def test_a_raising_detector_leaves_the_others_running(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = Script(firing=[finding({"tenant": "globex"}, detector="broken")]), Script()
    monkeypatch.setattr(capabilities, "INSTALLED", [*capabilities.INSTALLED, capability(fine, broken=broken)])
    run(services, 0, only=("broken", "scripted"))
    assert "broken:tenant=globex" in alarms(services)
    broken.fail, fine.firing = True, [finding(ACME)]
    with caplog.at_level(logging.ERROR):
        found = run(services, 1, only=("broken", "scripted"))
    assert [f.key for f in found] == [KEY] and broken.runs == 2
    assert "detector broken failed" in caplog.text
    kept = alarms(services)["broken:tenant=globex"]
    assert (kept.status, kept.clean_runs) == ("open", 0)  # a crash is not a recovery


def test_a_dry_run_writes_nothing_at_all(services: Services, script: Script) -> None:
    script.firing = [finding(ACME), finding({"tenant": "globex"})]
    run(services, 0)
    before = row_counts(services)
    stored = {k: a.model_dump() for k, a in alarms(services).items()}
    script.firing = [finding({"tenant": "initech"})]  # one opens, two count a clean run
    services.settings.file = FileConfig.model_validate({"detectors": {"resolve_after_by": {"scripted": 1}}})
    found = run(services, 1, dry=True)
    assert sorted((f.key, f.status) for f in found) == [
        ("scripted:tenant=acme", "resolved"),
        ("scripted:tenant=globex", "resolved"),
        ("scripted:tenant=initech", "firing"),
    ]
    assert row_counts(services) == before
    assert {k: a.model_dump() for k, a in alarms(services).items()} == stored
