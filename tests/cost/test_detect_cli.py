"""``afterlaunch detect``: the CLI runs the detectors at ``--at``; ``--dry-run`` prints and writes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.__main__ import cli
from bot.services import Services
from storage.alarms import DetectorAlarm
from storage.alerts_models import Alert
from tests.cost.helpers import rollup_row, write_minutes
from tests.cost.test_burn import NOW, _flat

AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
KEY = "cost_burn:tenant=a"


@pytest.fixture
def cli_env(services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The CLI reads the same database as the test, with small-volume thresholds from its config file."""
    config = tmp_path / "afterlaunch.toml"
    config.write_text('[cost]\nmin_requests = 10\ndimensions = ["tenant"]\n')
    monkeypatch.setenv("DATABASE_URL", services.settings.db_url)
    monkeypatch.setenv("AFTERLAUNCH_CONFIG", str(config))
    monkeypatch.setenv("AFTERLAUNCH_SECRET_KEY", "test-secret-key-for-hashing")
    monkeypatch.setenv("AFTERLAUNCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    end = int(NOW.timestamp())
    _flat(services, end, {"a": (end - 600, 0.04)})  # tenant a burns 3x over 15 min, 4x over 5 min: a page
    return services


def _detect(*args: str) -> str:
    result = CliRunner().invoke(cli, ["detect", "--only", "cost_burn", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _counts(services: Services) -> tuple[list[tuple[str, str]], int]:
    with services.db.session() as session:
        alarms = [(a.key, a.status) for a in session.scalars(select(DetectorAlarm).order_by(DetectorAlarm.key))]
        alerts = session.scalar(select(func.count()).select_from(Alert)) or 0
    return alarms, alerts


def test_dry_run_prints_the_page_and_writes_nothing(cli_env: Services) -> None:
    out = _detect("--at", AT, "--dry-run")
    assert "1 finding(s) at 2026-11-04 12:00 UTC (dry run)" in out
    assert "[firing critical] Fast spend burn: tenant=a" in out and f"key={KEY}" in out
    assert "burn rate: 3.0x over 15m, 4.0x over 5m" in out
    assert _counts(cli_env) == ([], 0)  # no alarm state, no alert, no card
    assert "(dry run)" in _detect("--at", AT, "--dry-run")  # and so a second dry run sees the same, new burn
    assert _counts(cli_env) == ([], 0)


def test_real_run_records_then_dry_run_leaves_the_resolution_unwritten(cli_env: Services) -> None:
    out = _detect("--at", AT)
    assert "(dry run)" not in out and f"key={KEY}" in out
    alarms, alerts = _counts(cli_env)
    assert alarms == [(KEY, "open")] and alerts == 1

    end = int(NOW.timestamp())
    write_minutes(cli_env, [rollup_row(end + 60 * i, 0.01, 2, tenant=t) for i in range(0, 6) for t in ("a", "b")])
    later = (NOW + timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = _detect("--at", later, "--dry-run")
    assert "[resolved critical] Spend burn stopped: tenant=a" in out
    assert _counts(cli_env) == ([(KEY, "open")], 1)  # the dry run did not resolve the stored alarm

    _detect("--at", later)
    assert _counts(cli_env)[0] == [(KEY, "resolved")]


def test_bad_time_is_refused_by_name(cli_env: Services) -> None:
    result = CliRunner().invoke(cli, ["detect", "--at", "yesterday", "--dry-run"])
    assert result.exit_code != 0 and "--at" in result.output and "ISO 8601" in result.output
    result = CliRunner().invoke(cli, ["detect", "--at", "2026-11-04T12:00:00", "--dry-run"])
    assert result.exit_code != 0 and "time zone" in result.output
    result = CliRunner().invoke(cli, ["detect", "--only", "nope", "--dry-run"])
    assert result.exit_code != 0 and "unknown detector(s): nope" in result.output


def test_json_gives_the_burn_with_its_cause_runbook_and_kill_switch(cli_env: Services) -> None:
    import json

    [line] = [json.loads(x) for x in _detect("--at", AT, "--dry-run", "--json").splitlines()]
    assert (line["detector"], line["key"], line["incident"], line["status"]) == ("cost_burn", KEY, KEY, "firing")
    assert line["severity"] == "critical" and line["cohort"] == {"tenant": "a"}
    assert line["cause"] == "unknown" and line["runbook"] == "cost-burn-unknown"
    assert line["suggested_flag"] == "assistant tenant=a"
    assert line["started_at"] == "2026-11-04T12:00:00+00:00" and "tenant=a" in line["summary"]
