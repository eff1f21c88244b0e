"""The [otlp] section: read from the TOML file through the capability, wrong keys named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_file_config


def test_the_otlp_section_is_read_and_defaults_apply(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text('[otlp]\ntenant = ["resource:service.namespace"]\ndefault_tenant = "main"\n')
    section = load_file_config(path).otlp
    assert section.tenant == ["resource:service.namespace"]
    assert section.default_tenant == "main"
    assert section.prompt_version[0] == "afterlaunch.prompt_version"
    assert load_file_config(tmp_path / "absent.toml").otlp.default_tenant is None


def test_a_misspelt_otlp_key_stops_the_start_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text("[otlp]\ntenants = []\n")
    with pytest.raises(ConfigError, match="tenants"):
        load_file_config(path)
    path.write_text("[otlp]\njoin_window_seconds = 90\n")
    with pytest.raises(ConfigError, match="join_window_seconds"):
        load_file_config(path)
