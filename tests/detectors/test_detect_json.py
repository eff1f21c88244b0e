"""``afterlaunch detect --json``: one object per finding per line, the scripted interface drills rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.__main__ import cli
from bot.services import Services
from tests.detectors.helpers import alarms, row_counts
from tests.detectors.scripted import Script, finding

FIELDS = {
    "detector", "key", "incident", "status", "severity", "title", "cause", "cohort", "runbook",
    "suggested_flag", "started_at", "summary", "labels", "figures", "sample_request_ids",
}  # fmt: skip


@pytest.fixture
def cli_env(services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The CLI, in this process (so the test capability is installed), on the test's database."""
    monkeypatch.setenv("DATABASE_URL", services.settings.db_url)
    monkeypatch.setenv("AFTERLAUNCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("AFTERLAUNCH_SECRET_KEY", "test-secret-key-for-hashing")
    monkeypatch.setenv("AFTERLAUNCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return services


def _detect(*args: str) -> list[dict]:
    result = CliRunner().invoke(cli, ["detect", "--only", "scripted", "--json", "--at", "2026-11-20T09:30:00Z", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_each_finding_is_one_json_line_with_every_field(cli_env: Services, script: Script) -> None:
    leak = finding({"tenant": "acme", "api_key_id": "key_7"}, incident="leak-acme").with_(
        detector="cost_burn", labels={"tenant": "acme", "api_key_id": "key_7"}
    )
    script.firing = [leak, finding({"tenant": "globex"}, cause="fallback_share")]
    lines = _detect("--dry-run")
    assert [set(line) for line in lines] == [FIELDS, FIELDS]
    first, second = lines
    assert first["key"] == leak.key and first["incident"] == "leak-acme" and first["status"] == "firing"
    assert first["cohort"] == {"tenant": "acme", "api_key_id": "key_7"} and first["cause"] == "leaked_api_key"
    # the runbook the shipped runbooks match on detector and cause, and the kill switch it suggests
    assert first["runbook"] == "cost-leaked-api-key" and first["suggested_flag"] == "assistant api_key_id=key_7"
    assert first["started_at"] == "2026-11-20T09:00:00+00:00" and first["severity"] == "high"
    assert second["incident"] == second["key"] == "scripted:tenant=globex"  # a lone finding is its own incident
    assert second["runbook"] == "generic" and second["suggested_flag"] is None
    assert first["figures"] == [["spend", "$3.00"]] and first["sample_request_ids"]


def test_json_reports_resolutions_and_a_dry_run_stores_nothing(cli_env: Services, script: Script) -> None:
    script.firing = [finding({"tenant": "acme"})]
    before = row_counts(cli_env)
    assert [line["status"] for line in _detect("--dry-run")] == ["firing"]
    assert row_counts(cli_env) == before and alarms(cli_env) == {}
    assert [line["status"] for line in _detect()] == ["firing"]
    assert list(alarms(cli_env)) == ["scripted:tenant=acme"]
    script.firing = []
    assert _detect() == [] and _detect() == []
    [done] = _detect()
    assert (done["key"], done["status"]) == ("scripted:tenant=acme", "resolved")
