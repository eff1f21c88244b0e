"""A capability defined only under tests/ works end to end once added to the list: Slack, scheduler, CLI."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from bot import capabilities
from bot.__main__ import cli
from bot.app import create_app, scheduled_jobs
from bot.demo.server import BackgroundServer
from bot.demo.traffic import make_event
from bot.scheduler import Leadership, build_scheduler
from bot.services import Services
from bot.slack.commands import all_commands
from bot.slack.manifest import manifest_yaml
from storage import alerts as alert_store
from tests.conftest import make_key
from tests.echo import parts
from tests.fake_slack import FakeSlack
from tests.slack_requests import block_action, interaction_body, send, send_event, slash_body


@pytest.fixture(autouse=True)
def echo_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installing the capability is one line: adding it to the list."""
    monkeypatch.setattr(capabilities, "INSTALLED", [*capabilities.INSTALLED, "tests.echo"])


def _wait(fetch, timeout: float = 10):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := fetch():
            return got
        time.sleep(0.05)
    raise AssertionError("nothing arrived in time")


@pytest.fixture
def slack_service(slack_services: Services) -> Iterator[str]:
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        yield server.url


def test_slash_command_button_home_and_route_through_signed_slack(slack_service: str, fake_slack: FakeSlack) -> None:
    manifest = yaml.safe_load(manifest_yaml(all_commands(), url="https://x.example.com"))
    assert "/echo" in [c["command"] for c in manifest["features"]["slash_commands"]]
    url = fake_slack.new_response_url()
    assert send(slack_service, slash_body("/echo", "the build is green", response_url=url)).status_code == 200
    [reply] = _wait(lambda: fake_slack.responses(url))
    button = reply.body["blocks"][1]["elements"][0]
    assert reply.body["text"] == "echo: the build is green" and button["action_id"] == parts.ACK_ACTION

    clicked = fake_slack.new_response_url()
    click = block_action(parts.ACK_ACTION, button["value"], response_url=clicked, message_ts="1795000001.000100")
    assert send(slack_service, interaction_body(click)).status_code == 200
    [ack] = _wait(lambda: fake_slack.responses(clicked))
    assert ack.body["text"] == "acknowledged the build is green by U0ONCALL1"

    event = {"type": "app_home_opened", "user": "U0ONCALL1", "tab": "home", "channel": "D0HOME"}
    assert send_event(slack_service, event, event_id="EvEcho1").status_code == 200
    fake_slack.wait_for("views.publish", count=1)
    assert "echo min errors: 3" in json.dumps(fake_slack.home("U0ONCALL1"))

    pong = httpx.get(f"{slack_service}/echo/ping", timeout=5)
    assert pong.status_code == 200 and pong.json() == {"pong": True, "capability": "echo"}


def test_detector_and_job_run_from_the_scheduler_and_show_in_detect_json(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = make_key(services)
    now = datetime.now(UTC)
    rng = random.Random(5)
    events = [{**make_event(rng, now - timedelta(minutes=2), tenant="acme"), "status": "error"} for _ in range(4)]
    events += [make_event(rng, now - timedelta(minutes=2), tenant="globex") for _ in range(4)]
    with BackgroundServer(create_app(services.settings, services=services, start_background=False)) as server:
        r = httpx.post(
            f"{server.url}/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {raw}"}, timeout=30
        )
        assert r.json()["accepted"] == 8, r.text

    leadership = Leadership(services)
    scheduler = build_scheduler(services, scheduled_jobs(), leadership)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"echo_tick", "echo_errors"} <= set(jobs)
    ticks = len(parts.TICKS)
    for name in ("echo_tick", "echo_errors"):
        assert jobs[name].func(*jobs[name].args) is True  # what APScheduler calls on each tick
    leadership.release()
    assert len(parts.TICKS) == ticks + 1
    with services.db.session() as session:
        alert = alert_store.get_by_fingerprint(session=session, fingerprint="afterlaunch:echo_errors:tenant=acme")
    assert alert is not None and alert.status == "firing"

    monkeypatch.setenv("DATABASE_URL", services.settings.db_url)
    monkeypatch.setenv("AFTERLAUNCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("AFTERLAUNCH_SECRET_KEY", "test-secret-key-for-hashing")
    monkeypatch.setenv("AFTERLAUNCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    done = CliRunner().invoke(cli, ["detect", "--only", "echo_errors", "--json", "--dry-run"])
    assert done.exit_code == 0, done.output
    [line] = [json.loads(x) for x in done.output.splitlines()]
    assert (line["key"], line["status"], line["cause"], line["runbook"]) == (
        "echo_errors:tenant=acme", "firing", "error_burst", "generic",
    )  # fmt: skip
    assert line["cohort"] == {"tenant": "acme"} and line["figures"] == [["errors", "4"]]
    assert datetime.fromisoformat(line["started_at"]) == alert.starts_at  # kept from the run that opened it

    said = CliRunner().invoke(cli, ["echo", "hi", "there"])
    assert said.exit_code == 0 and said.output == "echo: hi there\n"
