from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.__main__ import cli


def test_runbooks_check_passes_on_the_shipped_runbooks() -> None:
    result = CliRunner().invoke(cli, ["runbooks", "check"])
    assert result.exit_code == 0, result.output
    assert "0 problems" in result.output


def test_runbooks_check_points_at_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text("---\nid: x\ntitle: t\nseverity: urgent\nmatch: {}\n---\n\n## Steps\n\n1. do\n")
    result = CliRunner().invoke(cli, ["runbooks", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'x.md'}:4: severity 'urgent'" in result.output
