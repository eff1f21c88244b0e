"""A card stored by a process that dies before Slack accepted it is sent after a restart."""

from __future__ import annotations

import signal
import subprocess
import time

from bot.config import Settings
from bot.demo.server import free_port, start_service_process
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, send_event


def start(settings: Settings, port: int) -> subprocess.Popen:
    return start_service_process(
        {
            "DATABASE_URL": settings.db_url,
            "AFTERLAUNCH_DATA_DIR": str(settings.data_dir),
            "AFTERLAUNCH_CONFIG": str(settings.config_file),
            "AFTERLAUNCH_SECRET_KEY": "restart-test-secret-key",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": settings.slack_api_url or "",
        },
        port,
    )


def test_card_stored_before_a_crash_is_sent_after_restart(slack_settings: Settings, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("views.publish", status=503, times=100)
    port = free_port()
    proc = start(slack_settings, port)
    try:
        event = {"type": "app_home_opened", "user": "U0ONCALL1", "tab": "home", "channel": "D0HOME"}
        assert send_event(f"http://127.0.0.1:{port}", event, event_id="EvCrash1").status_code == 200
        fake_slack.wait_for("views.publish", count=1)  # stored, tried, refused by Slack
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert fake_slack.home("U0ONCALL1") is None
    fake_slack.clear_failures()
    proc = start(slack_settings, port)
    try:
        deadline = time.monotonic() + 30
        while fake_slack.home("U0ONCALL1") is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert fake_slack.home("U0ONCALL1") is not None
    published = [c for c in fake_slack.calls("views.publish") if not c.failed]
    assert len(published) == 1
