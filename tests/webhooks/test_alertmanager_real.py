"""The real Prometheus Alertmanager (Debian package prometheus-alertmanager) posting to the running service."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.app import create_app
from bot.demo.server import BackgroundServer, free_port
from bot.services import Services
from storage.alerts_models import Alert
from tests.fake_slack import FakeSlack

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
TOKEN = "alertmanager-bearer-token-2c9e"
CONFIG = """
route:
  receiver: afterlaunch
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: afterlaunch
    webhook_configs:
      - url: {url}/webhooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""

pytestmark = pytest.mark.skipif(BINARY is None, reason="prometheus-alertmanager is not installed")


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def alertmanager(slack_services: Services, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[str]:
    """afterlaunch on loopback (real outbox sender to the Slack stand-in) and Alertmanager pointing at it."""
    fake_slack.add_channel("C0ONCALL01", "ai-oncall")
    slack_services.settings = slack_services.settings.model_copy(update={"webhook_token": SecretStr(TOKEN)})
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        (tmp_path / "am.yml").write_text(CONFIG.format(url=server.url, token=TOKEN))
        port = free_port()
        process = subprocess.Popen(
            [
                str(BINARY),
                f"--config.file={tmp_path / 'am.yml'}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            api = f"http://127.0.0.1:{port}"

            def ready() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"alertmanager exited: {process.stderr.read().decode()[-500:]}")
                try:
                    return httpx.get(f"{api}/-/ready", timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(ready, "alertmanager to be ready")
            yield api
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def push(api: str, alerts: list[dict]) -> None:
    r = httpx.post(f"{api}/api/v2/alerts", json=alerts, timeout=5)
    assert r.status_code == 200, r.text


def rows(services: Services) -> list[Alert]:
    with services.db.session() as session:
        return list(session.exec(select(Alert)))


def test_alertmanager_groups_become_one_living_card_each(
    alertmanager: str, slack_services: Services, fake_slack: FakeSlack
) -> None:
    def alert(name: str, instance: str) -> dict:
        return {
            "labels": {"alertname": name, "severity": "warning", "instance": instance, "tenant": "acme"},
            "annotations": {"summary": f"{name} on the assistant"},
            "generatorURL": "http://prometheus.test/graph",
        }

    firing = [
        alert("AssistantLatencyHigh", "gw-1"),
        alert("AssistantLatencyHigh", "gw-2"),
        alert("RefusalShift", "gw-1"),
    ]
    push(alertmanager, firing)

    def top_level() -> list:
        return [m for m in fake_slack.messages("#ai-oncall") if m.thread_ts in (None, m.ts)]

    wait_until(lambda: len(top_level()) == 2, "one card per alert group")
    # Alertmanager resends each group after repeat_interval: the cards are updated, never posted again.
    wait_until(lambda: all(a.deliveries >= 2 for a in rows(slack_services)), "resends from alertmanager")
    wait_until(lambda: all(m.updates >= 1 for m in top_level()), "chat.update of both cards")
    assert len(top_level()) == 2
    latency = next(m for m in top_level() if "AssistantLatencyHigh" in m.text)
    assert "2 alerts in this group" in str(latency.blocks)

    ended = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    push(alertmanager, [{**a, "endsAt": ended} for a in firing])
    wait_until(lambda: all(a.status == "resolved" for a in rows(slack_services)), "resolved notifications")
    wait_until(lambda: all("RESOLVED" in str(m.blocks) for m in top_level()), "cards showing resolved")
    assert len(top_level()) == 2
    assert len([c for c in fake_slack.calls("chat.postMessage") if not c.body.get("thread_ts")]) == 2
    assert not [c for c in fake_slack.calls("chat.postMessage") if c.status == 429]
