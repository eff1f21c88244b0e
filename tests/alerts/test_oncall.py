from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.alerts.routing import primary_oncall, secondary_oncall
from bot.config import ConfigError, load_file_config
from bot.services import Services
from tests.alerts.helpers import configure

ROTATION = {
    "users": ["U0ALICE01", "U0BOB0001", "U0CAROL01"],
    "handoff_day": "monday",
    "handoff_time": "09:00",
    "timezone": "Europe/Paris",
    "rotation_start": "2026-11-02",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_weekly_rotation_hands_off_at_local_time(services: Services) -> None:
    configure(services, oncall=ROTATION)
    s = services.settings
    assert primary_oncall(s, at("2026-11-02T09:00:00+01:00")) == "U0ALICE01"
    assert primary_oncall(s, at("2026-11-09T08:59:00+01:00")) == "U0ALICE01"
    assert primary_oncall(s, at("2026-11-09T09:00:00+01:00")) == "U0BOB0001"
    assert primary_oncall(s, at("2026-11-26T12:00:00+01:00")) == "U0ALICE01"  # fourth week wraps
    assert secondary_oncall(s, at("2026-11-26T12:00:00+01:00")) == "U0BOB0001"


def test_override_wins_and_group_alternative(services: Services) -> None:
    override = {"user": "U0DAVE001", "from": "2026-11-25T00:00:00Z", "to": "2026-11-27T00:00:00Z"}
    configure(services, oncall={**ROTATION, "overrides": [override], "secondary": "S0LEADS01"})
    assert primary_oncall(services.settings, at("2026-11-26T12:00:00Z")) == "U0DAVE001"
    assert secondary_oncall(services.settings, at("2026-11-26T12:00:00Z")) == "S0LEADS01"
    configure(services, oncall={"usergroup": "S0ONCALL1"})
    assert primary_oncall(services.settings, at("2026-11-26T12:00:00Z")) == "S0ONCALL1"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[oncall]\ntimezone = "Mars/Olympus"\n', "unknown time zone"),
        ('[oncall]\nusers = ["alice"]\n', "oncall.users.0"),
        ("[oncall]\nescalate_after_minutes = 0\n", "escalate_after_minutes"),
        ('[routing]\nroutes = [{channel = "#x", severity = ["urgent"]}]\n', "routing.routes.0.severity"),
        ('[webhooks.datadog]\ntoken = "x"\n', "webhooks.datadog"),
    ],
)
def test_bad_config_names_the_setting(tmp_path, toml: str, message: str) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_file_config(path)
