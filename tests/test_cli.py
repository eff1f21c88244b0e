"""The command line as a person runs it: a real process, real output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AFTERLAUNCH_", "DATABASE_URL"))}
    base.update({"AFTERLAUNCH_DATA_DIR": str(tmp_path / "data"), "AFTERLAUNCH_CONFIG": str(tmp_path / "none.toml")})
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=base, timeout=300, check=False
    )


def test_keys_are_shown_once_listed_without_secret_and_revocable(tmp_path: Path) -> None:
    created = run(tmp_path, "keys", "create", "--name", "assistant-prod", "--tenant", "acme")
    assert created.returncode == 0, created.stderr
    raw = created.stdout.strip().splitlines()[-1]
    assert raw.startswith("al_")
    assert "cannot be shown again" in created.stderr
    listed = run(tmp_path, "keys", "list")
    assert "assistant-prod" in listed.stdout
    assert "acme" in listed.stdout
    assert raw not in listed.stdout
    assert run(tmp_path, "keys", "revoke", "1").returncode == 0
    assert "revoked" in run(tmp_path, "keys", "list").stdout
    bad = run(tmp_path, "keys", "create", "--name", "x", "--scope", "admin")
    assert bad.returncode != 0
    assert "unknown scope(s): admin" in bad.stderr


def test_db_upgrade_and_a_bad_setting_stop_with_its_name(tmp_path: Path) -> None:
    ok = run(tmp_path, "db", "upgrade")
    assert ok.returncode == 0, ok.stderr
    assert "schema at revision" in ok.stdout
    bad = run(tmp_path, "db", "upgrade", env={"AFTERLAUNCH_RETENTION_BODY_DAYS": "-3"})
    assert bad.returncode != 0
    assert "AFTERLAUNCH_RETENTION_BODY_DAYS" in bad.stderr


def test_demo_runs_end_to_end_on_a_fresh_sqlite(tmp_path: Path) -> None:
    result = run(tmp_path, "demo", "--days", "1", "--per-day", "1500", "--data-dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "local mode" in out
    assert "0 rejected" in out
    assert "nothing counted twice" in out
    for tenant in ("acme", "globex", "initech"):
        assert tenant in out
    assert "GET /v1/requests/req_" in out
    assert (tmp_path / "demo" / "afterlaunch.db").exists()


def test_ask_runs_a_command_like_slack_and_prints_the_card(tmp_path: Path) -> None:
    result = run(tmp_path, "ask", "/afterlaunch status")
    assert result.returncode == 0, result.stderr
    assert "afterlaunch status" in result.stdout
    assert "Last hour: 0 requests" in result.stdout
    unknown = run(tmp_path, "ask", "/nope")
    assert unknown.returncode == 2
    assert "known: /afterlaunch" in unknown.stdout


def test_manifest_command_prints_yaml(tmp_path: Path) -> None:
    result = run(tmp_path, "manifest", "--url", "https://al.example.com")
    assert result.returncode == 0, result.stderr
    assert "command: /afterlaunch" in result.stdout
    assert "request_url: https://al.example.com/slack/events" in result.stdout
