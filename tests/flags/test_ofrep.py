from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.flags.service import Change, request_change
from bot.services import Services
from storage import keys as key_store
from tests.conftest import make_key
from tests.flags.conftest import ONCALL

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


@pytest.fixture
def client(flag_services: Services) -> Iterator[TestClient]:
    app = create_app(flag_services.settings, services=flag_services, start_background=False)
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {make_key(flag_services, scopes={'flags'})}"
        yield c


def kill(services: Services, scope: dict[str, str]) -> None:
    request_change(services, Change("assistant", "kill", scope, "test", ONCALL), access=None, now=NOW)


def test_single_evaluation_serves_on_then_off_after_a_kill(client: TestClient, flag_services: Services) -> None:
    r = client.post("/ofrep/v1/evaluate/flags/assistant", json={"context": {"tenant": "acme"}})
    assert r.status_code == 200
    assert r.json() == {
        "key": "assistant",
        "value": True,
        "reason": "STATIC",
        "variant": "on",
        "metadata": {},
        "cacheable": False,
    }
    kill(flag_services, {"tenant": "acme"})
    off = client.post("/ofrep/v1/evaluate/flags/assistant", json={"context": {"tenant": "acme"}}).json()
    assert (off["value"], off["reason"], off["metadata"]) == (False, "TARGETING_MATCH", {"killed": "tenant=acme"})
    other = client.post("/ofrep/v1/evaluate/flags/assistant", json={"context": {"targetingKey": "globex"}}).json()
    assert other["value"] is True


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "PARSE_ERROR"),
        (b"[1, 2]", 400, "PARSE_ERROR"),
        (b'{"context": 5}', 400, "INVALID_CONTEXT"),
        (b'{"context": {"intent": 7}}', 400, "INVALID_CONTEXT"),
        (b'{"context": {}}', 400, "TARGETING_KEY_MISSING"),
    ],
)
def test_single_evaluation_error_codes(
    client: TestClient, flag_services: Services, body: bytes, status: int, code: str
) -> None:
    kill(flag_services, {"tenant": "acme"})
    r = client.post("/ofrep/v1/evaluate/flags/assistant", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status
    assert r.json()["errorCode"] == code and r.json()["key"] == "assistant" and r.json()["errorDetails"]


def test_unknown_flag_is_flag_not_found(client: TestClient) -> None:
    r = client.post("/ofrep/v1/evaluate/flags/nope", json={"context": {}})
    assert r.status_code == 404
    assert r.json()["errorCode"] == "FLAG_NOT_FOUND" and r.json()["key"] == "nope"


def test_internal_failure_is_general(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.flags import ofrep

    def broken(*_: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(ofrep, "_state", broken)
    monkeypatch.setattr(ofrep, "_state_with_runtime", broken)
    for path in ("/ofrep/v1/evaluate/flags/assistant", "/ofrep/v1/evaluate/flags"):
        r = client.post(path, json={"context": {}})
        assert r.status_code == 500
        assert r.json()["errorCode"] == "GENERAL" and "ref" in r.json()["errorDetails"]
        assert "database gone" not in r.text


def test_keys_without_the_flags_scope_or_unknown_are_refused(client: TestClient, flag_services: Services) -> None:
    ingest_only = make_key(flag_services, scopes={"ingest"})
    r = client.post("/ofrep/v1/evaluate/flags/assistant", json={}, headers={"Authorization": f"Bearer {ingest_only}"})
    assert r.status_code == 403
    r = client.post("/ofrep/v1/evaluate/flags", json={}, headers={"Authorization": "Bearer al_unknown"})
    assert r.status_code == 401
    raw = make_key(flag_services, scopes={"flags"})
    ok = client.post("/ofrep/v1/evaluate/flags/assistant", json={}, headers={"Authorization": "", "X-API-Key": raw})
    assert ok.status_code == 200
    with flag_services.db.write_session() as session:
        key = key_store.get_active_key(session=session, raw=raw)
        assert key is not None and key.id is not None
        key_store.revoke_key(session=session, key_id=key.id, now=NOW)
    gone = client.post("/ofrep/v1/evaluate/flags/assistant", json={}, headers={"Authorization": "", "X-API-Key": raw})
    assert gone.status_code == 401


def test_tenant_bound_key_sees_only_its_tenant(client: TestClient, flag_services: Services) -> None:
    kill(flag_services, {"tenant": "acme"})
    acme = {"Authorization": f"Bearer {make_key(flag_services, tenant='acme', scopes={'flags'})}"}
    r = client.post("/ofrep/v1/evaluate/flags/assistant", json={}, headers=acme)
    assert r.json()["value"] is False
    r = client.post("/ofrep/v1/evaluate/flags/assistant", json={"context": {"tenant": "globex"}}, headers=acme)
    assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_CONTEXT"


def test_bulk_etag_changes_on_every_toggle_and_304_otherwise(client: TestClient, flag_services: Services) -> None:
    ctx = {"context": {"tenant": "acme", "intent": "billing"}}
    first = client.post("/ofrep/v1/evaluate/flags", json=ctx)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert {f["key"]: f["value"] for f in first.json()["flags"]} == {"assistant": True, "assistant.retries": True}
    again = client.post("/ofrep/v1/evaluate/flags", json=ctx, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and again.content == b""
    seen = {etag}
    for scope in ({"tenant": "globex"}, {"tenant": "acme"}):
        kill(flag_services, scope)
        r = client.post("/ofrep/v1/evaluate/flags", json=ctx, headers={"If-None-Match": etag})
        assert r.status_code == 200
        etag = r.headers["ETag"]
        assert etag not in seen
        seen.add(etag)
    assert {f["key"]: f["value"] for f in r.json()["flags"]}["assistant"] is False
    other = client.post(
        "/ofrep/v1/evaluate/flags", json={"context": {"tenant": "initech"}}, headers={"If-None-Match": etag}
    )
    assert other.status_code == 200 and other.headers["ETag"] != etag


def test_bulk_errors(client: TestClient, flag_services: Services) -> None:
    r = client.post("/ofrep/v1/evaluate/flags", content=b"nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errorCode"] == "PARSE_ERROR"
    r = client.post("/ofrep/v1/evaluate/flags", json={"context": "acme"})
    assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_CONTEXT"
    kill(flag_services, {"tenant": "acme"})
    r = client.post("/ofrep/v1/evaluate/flags", json={"context": {}})
    flags = {f["key"]: f for f in r.json()["flags"]}
    assert flags["assistant"]["errorCode"] == "TARGETING_KEY_MISSING"
    assert flags["assistant.retries"]["value"] is True


def test_configuration(client: TestClient) -> None:
    r = client.get("/ofrep/v1/configuration")
    assert r.status_code == 200
    assert r.json()["capabilities"]["cacheInvalidation"]["polling"]["enabled"] is True
    assert client.get("/ofrep/v1/configuration", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    assert client.get("/ofrep/v1/configuration", headers={"Authorization": ""}).status_code == 401
