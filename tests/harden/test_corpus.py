"""The bad-input corpus over real HTTP on loopback, on SQLite and PostgreSQL: every case answered, none 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services
from tests.conftest import make_key
from tests.harden.corpus import Case, all_cases
from tests.slack_requests import SIGNING_SECRET
from tests.slack_signing import signed_headers

WEBHOOK_TOKEN = "corpus-webhook-token-93b1"


@pytest.fixture
def server(slack_services: Services) -> Iterator[tuple[str, Services]]:
    slack_services.settings = slack_services.settings.model_copy(update={"webhook_token": SecretStr(WEBHOOK_TOKEN)})
    app = create_app(slack_services.settings, services=slack_services, start_background=False)
    with BackgroundServer(app) as running:
        yield running.url, slack_services


def _headers(case: Case, keys: dict[str, str]) -> dict[str, str]:
    headers = dict(case.headers)
    if case.auth in keys:
        headers["Authorization"] = f"Bearer {keys[case.auth]}"
    elif case.auth not in (None, "none"):
        headers["Authorization"] = case.auth
    if case.slack == "signed":
        headers.update(signed_headers(SIGNING_SECRET, case.body or b""))
    elif case.slack is not None:
        headers["X-Slack-Request-Timestamp"] = case.slack
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    return headers


def _problem(case: Case, response: httpx.Response) -> str | None:
    """What is wrong with the answer to one case, or None."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:200]}"
    if response.status_code >= 400 and case.method != "HEAD":
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return f"{response.status_code} without a JSON body: {response.text[:100]!r}"
        if not isinstance(body, dict) or not body:
            return f"{response.status_code} with an empty error body"
    if case.names is not None:
        if not 400 <= response.status_code < 500:
            return f"expected a 4xx naming {case.names!r}, got {response.status_code}: {response.text[:200]}"
        if case.names not in response.text:
            return f"the answer does not name {case.names!r}: {response.text[:300]}"
    return None


def test_corpus_gets_no_5xx_and_names_the_field(server: tuple[str, Services]) -> None:
    url, services = server
    keys = {
        "ingest": make_key(services, scopes={"ingest"}),
        "read": make_key(services, scopes={"read"}),
        "flags": make_key(services, scopes={"flags"}),
        "webhook": WEBHOOK_TOKEN,
    }
    cases = all_cases()
    assert len(cases) >= 150
    failures = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for case in cases:
            response = client.request(case.method, case.path, content=case.body, headers=_headers(case, keys))
            problem = _problem(case, response)
            if problem:
                failures.append(f"{case.name}: {problem}")
    assert failures == [], f"{len(failures)} of {len(cases)} cases answered wrongly:\n" + "\n".join(failures)
