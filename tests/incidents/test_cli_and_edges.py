"""The export command outside Slack, and the edges of the lifecycle: repeats, wrong channels, bad ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from bot.errors import UserError
from bot.incidents import export, service
from bot.incidents.cli import incident
from bot.services import Services
from bot.slack import calls
from bot.slack.errors import DeliveryError
from storage import incidents as store

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_export_command_writes_markdown_and_json(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = service.declare(services, title="Refusals doubled", severity="sev3", user="U0ALICE01", now=NOW)
    service.post_status(services, made.id, "U0ALICE01", "Provider changed the model", NOW + timedelta(minutes=5))  # type: ignore[arg-type]
    service.resolve(services, made.id, "U0ALICE01", NOW + timedelta(minutes=40))  # type: ignore[arg-type]
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url or "")
    monkeypatch.setenv("AFTERLAUNCH_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("AFTERLAUNCH_SECRET_KEY", "test-secret-key-for-hashing")
    monkeypatch.setenv("AFTERLAUNCH_CONFIG", str(tmp_path / "none.toml"))
    out = tmp_path / "pm.json"
    result = CliRunner().invoke(incident, ["export", str(made.id), "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = orjson.loads(out.read_text())
    assert [e["kind"] for e in data["timeline"]] == ["declared", "status", "resolved"]
    assert data["response_times"]["resolve"] == "40m"
    md = CliRunner().invoke(incident, ["export", str(made.id)])
    assert (
        md.exit_code == 0 and "# Postmortem draft: incident" in md.output and "Provider changed the model" in md.output
    )
    missing = CliRunner().invoke(incident, ["export", "999"])
    assert missing.exit_code != 0 and "there is no incident 999" in missing.output


def test_lifecycle_refusals(services: Services) -> None:
    made = service.declare(services, title="Latency tail", severity="sev2", user="U0ALICE01", now=NOW)
    assert made.id is not None
    with pytest.raises(UserError, match="resolve it before archiving"):
        service.archive(services, made.id, "U0ALICE01", NOW)
    with pytest.raises(UserError, match="unknown role"):
        service.assign_role(services, made.id, "scribe", "U0BOB0001", "U0ALICE01", NOW)
    with pytest.raises(UserError, match="usage: /incident status"):
        service.post_status(services, made.id, "U0ALICE01", "  ", NOW)
    with pytest.raises(UserError, match="there is no incident 77"):
        service.post_status(services, 77, "U0ALICE01", "x", NOW)
    with pytest.raises(UserError, match="unknown format"):
        export.postmortem(services, made.id, NOW, "pdf")
    service.resolve(services, made.id, "U0ALICE01", NOW + timedelta(minutes=1))
    with pytest.raises(UserError, match="already resolved"):
        service.resolve(services, made.id, "U0ALICE01", NOW + timedelta(minutes=2))
    with pytest.raises(UserError, match="is resolved"):
        service.post_status(services, made.id, "U0ALICE01", "late", NOW + timedelta(minutes=3))
    service.archive(services, made.id, "U0ALICE01", NOW + timedelta(minutes=4))


def test_pins_count_once_and_only_in_incident_channels(services: Services) -> None:
    made = service.declare(services, title="Leak", severity="sev1", user="U0ALICE01", now=NOW)
    with services.db.write_session() as session:
        from storage.outbox import save_card

        save_card(session=session, card_key=made.channel_key, channel="C0INCIDENT", ts="", now=NOW)
    assert service.record_pin(services, "C0INCIDENT", "1.2", "U0BOB0001", "pushpin", NOW)
    assert not service.record_pin(services, "C0INCIDENT", "1.2", "U0CAROL01", "pushpin", NOW)  # same message
    assert not service.record_pin(services, "C0INCIDENT", "1.3", "U0BOB0001", "eyes", NOW)  # another reaction
    assert not service.record_pin(services, "C0ELSEWHER", "1.4", "U0BOB0001", "pushpin", NOW)
    with services.db.session() as session:
        kinds = [e.kind for e in store.list_events(session=session, incident_id=made.id)]  # type: ignore[arg-type]
    assert kinds == ["declared", "pinned"]


class _Caller:
    def __init__(self, errors: list[str | None]) -> None:
        self.errors = errors
        self.seen: list[tuple[str, dict]] = []

    def call(self, method: str, args: dict) -> dict:
        self.seen.append((method, args))
        error = self.errors.pop(0) if self.errors else None
        if error:
            raise DeliveryError(error, 5.0)
        return {"ok": True, "channel": {"id": "C0NEW0001"}}


def test_channel_calls_treat_repeats_as_done_and_bad_names_as_final() -> None:
    assert calls.run(_Caller(["already_in_channel"]), {"method": "conversations.invite", "args": {"channel": "C1"}})
    with pytest.raises(DeliveryError) as bad:
        calls.run(_Caller(["invalid_name_specials"]), {"method": "conversations.create", "args": {"name": "X!"}})
    assert bad.value.retry_after is None
    taken = _Caller(["name_taken"] * 10)
    with pytest.raises(DeliveryError, match="name_taken"):
        calls.run(taken, {"method": "conversations.create", "args": {"name": "inc"}})
    assert [a["name"] for _, a in taken.seen] == ["inc", *(f"inc-{n}" for n in range(2, 11))]
    assert calls.suffixed("x" * 80, 3) == "x" * 78 + "-4"


def test_incident_list_in_a_tenant_channel_shows_only_that_tenant(services: Services) -> None:
    from bot.alerts.service import receive
    from bot.incidents.command import handle_incident
    from bot.slack.registry import CommandRequest
    from tests.alerts.helpers import alert, configure

    configure(services, channels={"tenant_channels": {"C0ACME001": "acme"}})
    [a] = receive(services, [alert("a", labels={"tenant": "acme"}, title="acme 5xx")], NOW, forward=False)
    service.declare(services, title="acme 5xx", severity="sev2", user="U0ALICE01", now=NOW, alert_id=a.alert_id)
    service.declare(services, title="globex leak", severity="sev1", user="U0ALICE01", now=NOW)

    def listed(channel: str) -> str:
        request = CommandRequest(command="/incident", text="list", user_id="U0ALICE01", channel_id=channel, now=NOW)
        return handle_incident(services, request).card.text

    assert "acme 5xx" in listed("C0ACME001") and "globex" not in listed("C0ACME001")
    assert "acme 5xx" in listed("C0OTHER01") and "globex leak" in listed("C0OTHER01")
