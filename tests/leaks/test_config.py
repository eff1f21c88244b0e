"""The [tenants.*], [leaks] and [audit.targets.*] sections: validated at start, errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_file_config
from bot.leaks.scan import required_literal


def test_sections_load(tmp_path: Path) -> None:
    p = tmp_path / "a.toml"
    p.write_text(
        '[tenants.acme]\nidentifiers = ["Acme Corp"]\npatterns = ["ACM-\\\\d{6}"]\ndoc_prefixes = ["acme/"]\n'
        '[leaks]\nowner_min_requests = 5\nshared_sources = ["help-center"]\n'
        '[audit.targets.main]\nurl = "http://127.0.0.1:9"\ntemplate = "t.toml"\n'
    )
    file = load_file_config(p)
    assert file.tenants["acme"].identifiers == ["Acme Corp"]
    assert file.leaks.owner_min_requests == 5 and file.leaks.owner_min_days == 2
    assert file.audit.targets["main"].tenants == ["audit-a", "audit-b"]


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ('[tenants.acme]\npatterns = ["ACM-("]\n', "not a valid regex"),
        ('[tenants.acme]\npatterns = ["x*"]\n', "matches the empty string"),
        ('[tenants.acme]\nidentifiers = ["ab"]\n', "identifiers"),
        ("[leaks]\nowner_min_days = 0\n", "owner_min_days"),
        ('[tenants.acme]\nnames = ["x"]\n', "names"),
    ],
)
def test_bad_sections_name_the_problem(tmp_path: Path, toml: str, names: str) -> None:
    p = tmp_path / "a.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError, match=names):
        load_file_config(p)


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [(r"\bACM-\d{7}\b", "acm-"), (r"GLX\d{8}", "glx"), (r"(?:a|b)\d+", None), (r"[A-Z]{2}\d{6}", None)],
)
def test_the_literal_a_pattern_needs(pattern: str, literal: str | None) -> None:
    assert required_literal(pattern) == literal
