"""A live service on a config ready for drills: on-call with a secondary, budgets, an owned kill switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import create_app
from bot.config import Settings, load_settings
from bot.demo.server import BackgroundServer
from bot.services import Services, build_services

READY = """
[oncall]
users = ["U0PRIMARY", "U0SECOND"]
secondary = "U0SECOND"

[[budgets]]
cohort = { tenant = "acme" }
period = "month"
usd = 500

[[flags]]
key = "assistant"
owner = "U0PRIMARY"

[[flags]]
key = "assistant.agent_tools"
owner = "U0PRIMARY"

[latency]
fallback_paths = ["deep_retrieval"]
"""


def make_settings(database_url: str, tmp_path: Path, toml: str) -> Settings:
    path = tmp_path / "afterlaunch.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        config_file=path,
        secret_key="test-secret-key-for-hashing",
        run_migrations=False,
        scheduler=False,
    )


@pytest.fixture
def ready_services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    s = build_services(make_settings(database_url, tmp_path, READY))
    yield s
    s.close()


@pytest.fixture
def live(ready_services: Services) -> Iterator[str]:
    app = create_app(ready_services.settings, services=ready_services, start_background=False)
    with BackgroundServer(app) as server:
        yield server.url
