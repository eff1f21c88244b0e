"""The terminal: ``afterlaunch detect --json`` reports the share alarm, ``afterlaunch ask "/latency"`` answers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.__main__ import cli
from bot.latency.world import FALLBACK, World, ramp
from bot.services import Services
from tests.latency.helpers import T0, write_rows

END = int(T0.timestamp())


@pytest.fixture
def cli_env(services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Services:
    config = tmp_path / "afterlaunch.toml"
    config.write_text(
        f'[latency]\nfallback_paths = ["{FALLBACK}"]\n\n'
        '[[latency.budgets]]\nintent = "billing_question"\np95_ms = 1500\n'
    )
    monkeypatch.setenv("DATABASE_URL", services.settings.db_url)
    monkeypatch.setenv("AFTERLAUNCH_CONFIG", str(config))
    monkeypatch.setenv("AFTERLAUNCH_SECRET_KEY", "test-secret-key-for-hashing")
    monkeypatch.setenv("AFTERLAUNCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    climb = END - 3 * 3600
    world = World(share_of={"billing_question": ramp(climb, climb + 3600, 0.03, 0.3)})
    write_rows(services, world.rows(END - 8 * 3600, END))
    return services


def test_detect_json_reports_the_fallback_share_finding(cli_env: Services) -> None:
    at = T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = CliRunner().invoke(cli, ["detect", "--only", "latency", "--at", at, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(lines) == 1, result.output  # the budget breach it causes is on the same finding
    f = lines[0]
    assert f["detector"] == "latency" and f["cause"] == "fallback_share" and f["status"] == "firing"
    assert f["cohort"] == {"intent": "billing_question", "path": FALLBACK}
    assert f["runbook"] == "latency-fallback-path"
    assert f["incident"] == f["key"] == f"latency:fallback_share:billing_question:{FALLBACK}"
    assert datetime.fromisoformat(f["started_at"]) < T0.astimezone(UTC)
    assert any(label.startswith("Budget P95") for label, _ in f["figures"])


def test_ask_latency_prints_the_card(cli_env: Services) -> None:
    result = CliRunner().invoke(cli, ["ask", "/latency billing_question 30d"])
    assert result.exit_code == 0, result.output
    # (the data sits at a fixed past moment; ask runs at the real now, so the 30-day window holds it)
    assert "Latency" in result.output and re.search(r"deep_rag \d+ · [\d.]+%", result.output) and "P95" in result.output
    bad = CliRunner().invoke(cli, ["ask", "/latency nosuchintent"])
    assert "neither an intent nor a path" in bad.output and "billing_question" in bad.output
