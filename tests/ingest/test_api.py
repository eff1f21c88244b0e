"""The event API over real HTTP on loopback, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services
from storage.migrate import head_revision
from tests.conftest import make_key
from tests.ingest.factory import event


def recent(**overrides: object) -> dict:
    ts = (datetime.now(UTC) - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    return event(timestamp=ts, **overrides)


@pytest.fixture
def api(services: Services) -> Iterator[str]:
    with BackgroundServer(create_app(services.settings, services=services)) as server:
        yield server.url


def post(url: str, key: str | None, body: object, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(f"{url}/v1/events", content=content, headers=headers, timeout=30, **kw)


def test_missing_and_wrong_key_get_401(api: str, services: Services) -> None:
    r = post(api, None, {"events": [recent()]})
    assert r.status_code == 401
    assert "Authorization: Bearer" in r.json()["message"]
    r = post(api, "al_not-a-real-key-at-all-0000000000", {"events": [recent()]})
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"


def test_key_without_ingest_scope_gets_403(api: str, services: Services) -> None:
    key = make_key(services, scopes={"read"})
    r = post(api, key, {"events": [recent()]})
    assert r.status_code == 403
    assert "ingest" in r.json()["message"]


def test_unparseable_json_gets_422(api: str, services: Services) -> None:
    key = make_key(services)
    r = post(api, key, b'{"events": [')
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_json"
    r = post(api, key, [1, 2])
    assert r.status_code == 422
    assert '{"events": [...]}' in r.json()["message"]


def test_oversize_batch_and_body_get_413(api: str, services: Services) -> None:
    key = make_key(services)
    r = post(api, key, {"events": [recent() for _ in range(1001)]})
    assert r.status_code == 413
    assert "1001 events" in r.json()["message"]
    big = recent(response="x" * 150_000)
    r = post(api, key, {"events": [dict(big, request_id=f"r{i}") for i in range(40)]})
    assert r.status_code == 413
    assert "limit" in r.json()["message"]


def test_mixed_batch_stores_the_good_events(api: str, services: Services) -> None:
    key = make_key(services)
    good1, good2 = recent(), recent(tenant="globex")
    r = post(api, key, {"events": [good1, recent(model=...), good2, "not an object"]})
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 2)
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(1, "events[1].model"), (3, "events[3]")}
    got = httpx.get(f"{api}/v1/requests/{good2['request_id']}", headers={"Authorization": f"Bearer {key}"})
    assert got.status_code == 200
    assert got.json()["tenant"] == "globex"


def test_all_rejected_gets_422_with_the_same_shape(api: str, services: Services) -> None:
    key = make_key(services)
    r = post(api, key, {"events": [recent(tenant=...)]})
    assert r.status_code == 422
    assert r.json()["accepted"] == 0
    assert r.json()["errors"][0]["field"] == "events[0].tenant"


def test_resending_never_counts_twice(api: str, services: Services) -> None:
    key = make_key(services)
    batch = {"events": [recent() for _ in range(50)]}
    first = post(api, key, batch).json()
    second = post(api, key, batch).json()
    assert (first["accepted"], first["duplicates"]) == (50, 0)
    assert (second["accepted"], second["duplicates"]) == (0, 50)
    from storage import rollups

    now = int(datetime.now(UTC).timestamp())
    with services.db.session() as s:
        stats = rollups.list_cohorts(session=s, start=now - 3600 - now % 60, end=now + 120 - now % 60)
    assert stats[0].totals["requests"] == 50


def test_tenant_bound_key_cannot_write_or_read_another_tenant(api: str, services: Services) -> None:
    acme = make_key(services, tenant="acme")
    everyone = make_key(services)
    body = post(api, acme, {"events": [recent(tenant="acme"), recent(tenant="globex")]}).json()
    assert body["accepted"] == 1
    assert body["errors"][0]["message"] == "this key may only write tenant 'acme'"
    other = recent(tenant="globex")
    assert post(api, everyone, {"events": [other]}).json()["accepted"] == 1
    r = httpx.get(f"{api}/v1/requests/{other['request_id']}", headers={"Authorization": f"Bearer {acme}"})
    assert r.status_code == 404


def test_get_request_returns_the_whole_triple(api: str, services: Services) -> None:
    key = make_key(services)
    e = recent(user_id="alice@example.com", labels={"experiment": "b"}, system_fingerprint="fp_123")
    post(api, key, {"events": [e]})
    doc = httpx.get(f"{api}/v1/requests/{e['request_id']}", headers={"Authorization": f"Bearer {key}"}).json()
    assert doc["prompt"] == e["prompt"]
    assert doc["context"] == e["context"]
    assert doc["response"] == e["response"]
    assert (doc["prompt_version"], doc["model"], doc["system_fingerprint"]) == ("support-v12", "gpt-4o-mini", "fp_123")
    assert doc["labels"] == {"experiment": "b"}
    assert doc["user_hash"] and "alice" not in orjson.dumps(doc).decode()
    assert doc["timestamp"].endswith("Z")


def test_same_request_id_in_two_tenants_needs_a_tenant(api: str, services: Services) -> None:
    key = make_key(services)
    post(
        api,
        key,
        {
            "events": [
                recent(request_id="req_shared01", tenant="acme"),
                recent(request_id="req_shared01", tenant="globex"),
            ]
        },
    )
    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{api}/v1/requests/req_shared01", headers=auth).status_code == 409
    r = httpx.get(f"{api}/v1/requests/req_shared01", params={"tenant": "globex"}, headers=auth)
    assert r.status_code == 200
    assert r.json()["tenant"] == "globex"


def test_health_and_metrics(api: str, services: Services) -> None:
    key = make_key(services)
    post(api, key, {"events": [recent()]})
    health = httpx.get(f"{api}/healthz").json()
    assert health["status"] == "ok"
    assert health["schema"] == head_revision()
    metrics = httpx.get(f"{api}/metrics").text
    assert 'afterlaunch_events_total{outcome="accepted"}' in metrics
