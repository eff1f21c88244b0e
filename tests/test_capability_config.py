"""A capability adds its own TOML sections without touching bot/config.py; they are validated at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from bot import capabilities
from bot.capabilities import Capability
from bot.config import ConfigError, FileConfig, load_file_config


class SpeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p95_ms: int = Field(default=2000, gt=0)


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    share: float = Field(default=0.1, ge=0, le=1)


@pytest.fixture(autouse=True)
def plugged(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = Capability(name="sections", config={"speed": SpeedConfig, "accounts": dict[str, TenantConfig]})
    monkeypatch.setattr(capabilities, "INSTALLED", [*capabilities.INSTALLED, extra])


def test_sections_are_read_and_default_when_absent(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text(
        '[speed]\np95_ms = 900\n\n[accounts.acme]\nchannel = "C0ACME"\n\n[refusals]\nextra_patterns = ["^no$"]\n'
    )
    cfg = load_file_config(path)
    assert cfg.speed == SpeedConfig(p95_ms=900)
    assert cfg.accounts == {"acme": TenantConfig(channel="C0ACME")}
    assert cfg.refusals.extra_patterns == ["^no$"]
    empty = FileConfig()
    assert empty.speed == SpeedConfig() and empty.accounts == {} and empty.routing.routes == []


def test_a_bad_value_names_the_file_the_key_and_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text("[accounts.acme]\nshare = 3\n")
    with pytest.raises(ConfigError) as err:
        load_file_config(path)
    message = str(err.value)
    assert f"{path}: accounts.acme.channel: Field required" in message
    assert f"{path}: accounts.acme.share: Input should be less than or equal to 1" in message


def test_an_unknown_section_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text("[speedd]\np95_ms = 1\n")
    with pytest.raises(ConfigError, match=r"speedd: unknown section; known: .*speed"):
        load_file_config(path)
    with pytest.raises(ValueError, match="unknown section"):
        FileConfig.model_validate({"speedd": {}})


def test_a_bad_core_key_is_still_named(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text("[detectors]\nresolve_after = 0\n")
    with pytest.raises(ConfigError, match=r"detectors.resolve_after: Input should be greater than or equal to 1"):
        load_file_config(path)
