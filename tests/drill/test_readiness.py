"""A deliberately broken configuration shows in readiness as critical gaps, and fails the drill step it breaks."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.__main__ import cli
from bot.demo.traffic import generate
from bot.drill.readiness import check
from bot.drill.run import run_drill
from bot.services import Services, build_services
from tests.conftest import make_key
from tests.drill.conftest import READY, make_settings

BROKEN = """
[[flags]]
key = "assistant.agent_tools"
"""
RUNBOOKS = Path(__file__).parents[2] / "runbooks"


@pytest.fixture
def broken_runbooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped runbooks, with the loop runbook telling people to run a command nobody installed."""
    folder = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, folder)
    loop = folder / "cost-runaway-agent-loop.md"
    loop.write_text(loop.read_text().replace("`/cost by intent 1h`", "`/cost by intent 1h` and `/postmortem 1h`"))
    monkeypatch.setenv("AFTERLAUNCH_RUNBOOK_DIR", str(folder))
    return folder


def _traffic(services: Services, url: str, now: datetime) -> None:
    events = list(generate(now - timedelta(hours=6), now - timedelta(minutes=2), events_per_day=400, seed=3))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {make_key(services)}"}) as client:
        client.post("/v1/events", json={"events": events}).raise_for_status()


def test_a_ready_configuration_has_no_critical_gap_on_its_own_concerns(ready_services: Services) -> None:
    gaps = check(ready_services, datetime.now(UTC))
    areas = {g.area for g in gaps if g.level == "critical"}
    assert "on-call" not in areas and "kill switch" not in areas and "budgets" not in areas


def test_broken_configuration_is_critical_and_fails_the_cost_drill(
    database_url: str, tmp_path: Path, broken_runbooks: Path
) -> None:
    from bot.app import create_app
    from bot.demo.server import BackgroundServer

    services = build_services(make_settings(database_url, tmp_path, BROKEN))
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        with BackgroundServer(create_app(services.settings, services=services, start_background=False)) as server:
            _traffic(services, server.url, now)
            gaps = check(services, now)
            text = "\n".join(f"{g.level} {g.message}" for g in gaps)
            assert "critical no on-call user" in text
            assert "critical tenant acme has traffic and no budget" in text
            assert "critical no kill-switch flag with an owner" in text
            assert "critical cost-runaway-agent-loop.md: names /postmortem" in text
            [cost] = run_drill(services, server.url, ["cost"], now)
    finally:
        services.close()
    assert cost.fired and cost.card_cause == "runaway_agent_loop"
    problems = "\n".join(cost.problems)
    assert "nobody was paged: no on-call user" in problems
    assert "tenant acme has traffic and no budget" in problems
    assert "kill switch assistant.agent_tools has no owner" in problems
    assert "names /postmortem" in problems


def test_readiness_exits_1_on_critical_gaps(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(BROKEN)
    monkeypatch.setenv("DATABASE_URL", services.settings.db_url)
    monkeypatch.setenv("AFTERLAUNCH_CONFIG", str(config))
    monkeypatch.setenv("AFTERLAUNCH_SECRET_KEY", "test-secret-key-for-hashing")
    monkeypatch.setenv("AFTERLAUNCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["readiness"])
    assert result.exit_code == 1, result.output
    assert "[critical] on-call: no on-call user" in result.output
    config.write_text(READY)
    result = CliRunner().invoke(cli, ["readiness", "--json"])
    assert "no on-call user" not in result.output
