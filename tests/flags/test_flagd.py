from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import orjson
from click.testing import CliRunner

from bot.__main__ import cli
from bot.flags.flagd import export_flagd
from bot.flags.model import FlagView, Snapshot
from bot.flags.service import Change, request_change
from bot.flags.snapshot import current_snapshot
from bot.services import Services
from tests.flags.conftest import ONCALL

SCHEMA = orjson.loads((Path(__file__).parent / "flagd_flags.schema.json").read_bytes())
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_export_validates_and_encodes_kills_as_targeting(flag_services: Services) -> None:
    for scope in ({"tenant": "acme"}, {"intent": "billing", "model": "gpt-4o"}):
        request_change(flag_services, Change("assistant", "kill", scope, "test", ONCALL), access=None, now=NOW)
    doc = export_flagd(current_snapshot(flag_services, NOW))
    jsonschema.validate(doc, SCHEMA)
    assistant = doc["flags"]["assistant"]
    assert assistant["defaultVariant"] == "on" and assistant["variants"] == {"on": True, "off": False}
    branches = assistant["targeting"]["if"]
    assert branches[-1] == "on" and branches[1] == branches[3] == "off"
    assert doc["flags"]["assistant.retries"] == {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "defaultVariant": "on",
        "metadata": {"description": "Retries to the provider", "owner": ""},
    }


def test_global_kill_exports_off_by_default() -> None:
    doc = export_flagd(Snapshot(3, {"a": FlagView("a", kills=({}, {"tenant": "x"}))}))
    jsonschema.validate(doc, SCHEMA)
    assert doc["flags"]["a"]["defaultVariant"] == "off" and "targeting" not in doc["flags"]["a"]
    assert doc["metadata"]["version"] == "3"


def test_schema_rejects_a_malformed_file() -> None:
    bad = {"flags": {"a": {"state": "ON", "variants": {"on": True}, "defaultVariant": "on"}}}
    try:
        jsonschema.validate(bad, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("the schema accepted state=ON")


def test_cli_writes_the_file(flag_services: Services, tmp_path: Path, monkeypatch) -> None:
    settings = flag_services.settings
    config = tmp_path / "flags.toml"
    config.write_text('[[flags]]\nkey = "assistant"\ndescription = "AI"\n')
    monkeypatch.setenv("DATABASE_URL", settings.db_url)
    monkeypatch.setenv("AFTERLAUNCH_CONFIG", str(config))
    monkeypatch.setenv("AFTERLAUNCH_SECRET_KEY", "test-secret-key-for-hashing")
    monkeypatch.setenv("AFTERLAUNCH_DATA_DIR", str(tmp_path))
    out = tmp_path / "flags.flagd.json"
    result = CliRunner().invoke(cli, ["flags", "export", "--format", "flagd", "--output", str(out)])
    assert result.exit_code == 0, result.output
    doc = orjson.loads(out.read_bytes())
    jsonschema.validate(doc, SCHEMA)
    assert "assistant" in doc["flags"]


FLAGD_CHECK = Path(__file__).parent / "flagd" / "validate.mjs"


def flagd(path: Path, flag: str, *tenants: str) -> subprocess.CompletedProcess[str]:
    """Run flagd's own flag-file loader (strict: flagd's JSON schemas) and evaluator on a file."""
    return subprocess.run(
        ["node", str(FLAGD_CHECK), str(path), flag, *tenants], capture_output=True, text=True, timeout=60, check=False
    )


def test_export_loads_in_flagds_own_parser_and_evaluates_like_afterlaunch(
    flag_services: Services, tmp_path: Path
) -> None:
    request_change(flag_services, Change("assistant", "kill", {"tenant": "acme"}, "test", ONCALL), access=None, now=NOW)
    path = tmp_path / "flags.json"
    path.write_bytes(orjson.dumps(export_flagd(current_snapshot(flag_services, NOW))))
    result = flagd(path, "assistant", "acme", "globex")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["acme=false", "globex=true"]


def test_flagds_parser_refuses_a_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(orjson.dumps({"flags": {"a": {"state": "ON", "variants": {"on": True}, "defaultVariant": "on"}}}))
    result = flagd(path, "a")
    assert result.returncode == 1
    assert "must be equal to one of the allowed values" in result.stderr
