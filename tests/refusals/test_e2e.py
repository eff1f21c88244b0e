"""/refusals through signed Slack requests with the chart uploaded, and the detectors from `afterlaunch detect`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import create_app
from bot.config import load_settings
from bot.demo.server import BackgroundServer
from bot.services import Services, build_services
from tests.fake_slack import FakeSlack
from tests.refusals.helpers import step_rate, write_traffic
from tests.slack_requests import send, slash_body


def wait_for(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_slash_refusals_answers_and_uploads_the_chart(slack_services: Services, fake_slack: FakeSlack) -> None:
    now = datetime.now(UTC)
    write_traffic(
        slack_services,
        start=now - timedelta(days=2),
        end=now,
        per_hour=300,
        rate=lambda t: 0.03,
        seed=1,
        category="billing",
    )
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        response_url = fake_slack.new_response_url()
        r = send(server.url, slash_body("/refusals", "billing 24h by model", response_url=response_url))
        assert r.status_code == 200
        [answer] = wait_for(lambda: fake_slack.responses(response_url))
        assert answer.body["response_type"] == "ephemeral"
        assert answer.body["text"] == "Refusals · billing · 24h by model"
        assert "`gpt-4o-mini`" in answer.body["blocks"][1]["text"]["text"]
        [upload] = wait_for(lambda: [u for u in fake_slack.uploads() if u.completed])
    assert upload.filename == "refusals-billing-24h.png" and upload.channel_id == "C0AIOPS01"
    assert upload.content is not None and upload.content.startswith(b"\x89PNG")


def test_afterlaunch_detect_runs_the_refusal_detectors(tmp_path: Path) -> None:
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    data = tmp_path / "data"
    services = build_services(load_settings(data_dir=data, config_file=tmp_path / "none.toml"))
    try:
        write_traffic(
            services, start=at - timedelta(days=8), end=at, per_hour=2000,
            rate=step_rate(0.02, 0.04, at - timedelta(hours=3)), seed=4, category="billing",
        )  # fmt: skip
    finally:
        services.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AFTERLAUNCH_", "DATABASE_URL"))}
    env.update({"AFTERLAUNCH_DATA_DIR": str(data), "AFTERLAUNCH_CONFIG": str(tmp_path / "none.toml")})
    args = ["detect", "--at", "2026-11-20T12:00:00Z", "--only", "refusal_shift", "--dry-run"]
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "1 finding(s) at 2026-11-20 12:00 UTC (dry run)" in done.stdout
    assert "[firing high] Refusal rate for billing doubled since" in done.stdout
