from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import httpx
import orjson
import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.config import FileConfig
from bot.demo.server import BackgroundServer
from bot.services import Services
from storage import alerts as store
from storage import outbox
from tests.webhooks.payloads import load

TOKEN = "shared-webhook-token-5f1c"


@pytest.fixture
def url(services: Services) -> Iterator[str]:
    services.settings = services.settings.model_copy(update={"webhook_token": SecretStr(TOKEN)})
    with BackgroundServer(create_app(services.settings, services=services, start_background=False)) as server:
        yield server.url


def post(url: str, source: str, body: object, token: str | None = TOKEN, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}/webhooks/{source}", content=content, headers=headers, timeout=10)


def stored(services: Services) -> int:
    with services.db.session() as session:
        return store.count_open_alerts(session=session) + len(outbox.list_messages(session=session))


@pytest.mark.parametrize(
    ("source", "payload"),
    [
        ("alertmanager", "alertmanager_firing"),
        ("grafana", "grafana_firing"),
        ("generic", "generic_firing"),
        ("pagerduty", "pagerduty_triggered"),
    ],
)
def test_each_source_turns_into_a_card(url: str, services: Services, source: str, payload: str) -> None:
    r = post(url, source, load(payload))
    assert r.status_code == 200, r.text
    [result] = r.json()["alerts"]
    assert result["action"] == "created" and result["card_key"].startswith("alert:")
    with services.db.session() as session:
        [msg] = [m for m in outbox.list_messages(session=session) if m.kind == "post"]
    assert msg.card_key == result["card_key"]


def test_wrong_or_missing_token_is_401_and_stores_nothing(url: str, services: Services) -> None:
    for token in ("not-the-token", None):
        r = post(url, "alertmanager", load("alertmanager_firing"), token=token)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
    assert stored(services) == 0


def test_per_source_token_overrides_the_shared_one(url: str, services: Services) -> None:
    services.settings.file = FileConfig.model_validate({"webhooks": {"grafana": {"token": "grafana-only-token"}}})
    assert post(url, "grafana", load("grafana_firing")).status_code == 401
    assert post(url, "grafana", load("grafana_firing"), token="grafana-only-token").status_code == 200
    assert post(url, "generic", load("generic_firing")).status_code == 200


def test_no_token_configured_refuses_with_what_to_set(services: Services) -> None:
    with BackgroundServer(create_app(services.settings, services=services, start_background=False)) as server:
        r = post(server.url, "generic", load("generic_firing"), token="anything")
    assert r.status_code == 503 and "AFTERLAUNCH_WEBHOOK_TOKEN" in r.json()["message"]


def test_invalid_json_is_400_and_bad_payload_422_naming_the_field(url: str, services: Services) -> None:
    r = post(url, "alertmanager", b"{not json")
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"
    bad = load("alertmanager_firing")
    bad["alerts"][1]["startsAt"] = "soon"
    r = post(url, "alertmanager", bad)
    assert r.status_code == 422
    assert "alerts[1].startsAt" in r.json()["message"]
    assert stored(services) == 0


def test_unknown_source_is_404(url: str) -> None:
    r = post(url, "datadog", {})
    assert r.status_code == 404 and "alertmanager" in r.json()["message"]


def test_pagerduty_signature_is_verified(url: str, services: Services) -> None:
    services.settings = services.settings.model_copy(update={"pagerduty_webhook_secret": SecretStr("pd-secret-9a")})
    body = orjson.dumps(load("pagerduty_triggered"))
    good = "v1=" + hmac.new(b"pd-secret-9a", body, hashlib.sha256).hexdigest()
    assert post(url, "pagerduty", body, token=None, **{"X-PagerDuty-Signature": "v1=00"}).status_code == 401
    assert stored(services) == 0
    assert post(url, "pagerduty", body, token=None, **{"X-PagerDuty-Signature": good}).status_code == 200
    ping = orjson.dumps(load("pagerduty_ping"))
    sig = "v1=" + hmac.new(b"pd-secret-9a", ping, hashlib.sha256).hexdigest()
    r = post(url, "pagerduty", ping, token=None, **{"X-PagerDuty-Signature": sig})
    assert r.status_code == 200 and r.json() == {"received": 0, "alerts": []}


def test_resend_over_http_updates_the_same_card(url: str, services: Services) -> None:
    first = post(url, "alertmanager", load("alertmanager_firing")).json()["alerts"][0]
    again = post(url, "alertmanager", load("alertmanager_firing")).json()["alerts"][0]
    done = post(url, "alertmanager", load("alertmanager_resolved")).json()["alerts"][0]
    assert first["card_key"] == again["card_key"] == done["card_key"]
    assert [first["action"], again["action"], done["action"]] == ["created", "updated", "resolved"]


def test_placeholder_token_is_refused(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"webhook_token": SecretStr("changeme")})
    with BackgroundServer(create_app(services.settings, services=services, start_background=False)) as server:
        r = post(server.url, "generic", load("generic_firing"), token="changeme")
    assert r.status_code == 503 and "placeholder" in r.json()["message"]
