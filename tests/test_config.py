from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_are_local_mode_on_sqlite(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, config_file=tmp_path / "absent.toml")
    assert s.local_mode
    assert s.db_url == f"sqlite:///{tmp_path / 'afterlaunch.db'}"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"AFTERLAUNCH_RETENTION_BODY_DAYS": "0"}, "AFTERLAUNCH_RETENTION_BODY_DAYS"),
        ({"AFTERLAUNCH_PORT": "http"}, "AFTERLAUNCH_PORT"),
        ({"SLACK_BOT_TOKEN": "not-a-bot-token", "SLACK_SIGNING_SECRET": "abcdef123456"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, "SLACK_SIGNING_SECRET"),
        ({"AFTERLAUNCH_SECRET_KEY": "changeme"}, "AFTERLAUNCH_SECRET_KEY"),
    ],
)
def test_bad_setting_names_itself(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict, named: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError, match=named):
        load_settings(config_file=tmp_path / "absent.toml")


def test_config_file_sections_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text(
        """
[prices."in-house-7b"]
input = 0.2
output = 0.4

[[budgets]]
cohort = { tenant = "acme" }
period = "month"
usd = 5000

[[flags]]
key = "assistant"
description = "The AI assistant in the help widget"
owner = "S0AIOPS"

[access]
killswitch = ["U123ABC", "S456DEF"]
"""
    )
    s = load_settings(config_file=path, data_dir=tmp_path)
    assert s.file.prices["in-house-7b"].output == 0.4
    assert s.file.budgets[0].cohort == {"tenant": "acme"}
    assert s.file.flags[0].key == "assistant"
    assert s.file.access["killswitch"] == ["U123ABC", "S456DEF"]

    path.write_text('[[budgets]]\ncohort = { colour = "red" }\nusd = 10\n')
    with pytest.raises(ConfigError, match=r"budgets\.0\.cohort"):
        load_settings(config_file=path, data_dir=tmp_path)
    path.write_text('[access]\nkillswitch = ["alice"]\n')
    with pytest.raises(ConfigError, match=r"access\.killswitch\.0"):
        load_settings(config_file=path, data_dir=tmp_path)
    path.write_text("[budgetz]\n")
    with pytest.raises(ConfigError, match="budgetz"):
        load_settings(config_file=path, data_dir=tmp_path)
    path.write_text("this is = not toml [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config_file=path, data_dir=tmp_path)


def test_secret_key_generated_once_on_sqlite_and_required_on_postgres(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, config_file=tmp_path / "absent.toml")
    first = s.resolve_secret_key()
    assert first == s.resolve_secret_key()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    pg = load_settings(database_url="postgresql://x@127.0.0.1/test", config_file=tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="AFTERLAUNCH_SECRET_KEY is required"):
        pg.resolve_secret_key()
