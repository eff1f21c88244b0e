"""The served OpenAPI document covers every route, and schemathesis finds no 5xx and no answer off its schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from starlette.applications import Starlette
from starlette.routing import Route

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.openapi import document
from bot.services import Services
from tests.conftest import make_key

TOKEN = "openapi-webhook-token-31"


def _app(services: Services) -> Starlette:
    services.settings = services.settings.model_copy(update={"webhook_token": SecretStr(TOKEN)})
    return create_app(services.settings, services=services, start_background=False)


@pytest.fixture
def served(slack_services: Services) -> Iterator[tuple[str, dict[str, str]]]:
    app = _app(slack_services)
    keys = {
        "key": make_key(slack_services, scopes={"ingest", "read"}),
        "flags": make_key(slack_services, scopes={"flags"}),
    }
    with BackgroundServer(app) as server:
        yield server.url, keys


def test_every_route_is_described(services: Services) -> None:
    """A route added without its operation docstring fails here, naming itself."""
    app = _app(services)
    paths = document(app.routes)["paths"]
    missing = []
    for route in app.routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                path = re.sub(r":\w+}", "}", route.path)  # as OpenAPI writes it: no converters
                if method.lower() not in paths.get(path, {}):
                    missing.append(f"{method} {route.path}")
    assert missing == [], "routes without an OpenAPI operation docstring: " + ", ".join(missing)
    for operation in (op for ops in paths.values() for op in ops.values()):
        assert operation.get("responses"), operation


def test_the_document_is_served(served: tuple[str, dict[str, str]]) -> None:
    url, _ = served
    served_doc = httpx.get(f"{url}/openapi.json", timeout=10).json()
    assert served_doc["openapi"].startswith("3.1")
    assert "/v1/events" in served_doc["paths"] and "EventIn" in served_doc["components"]["schemas"]


def _auth(path: str, keys: dict[str, str]) -> dict[str, str]:
    if path.startswith("/webhooks/"):
        return {"Authorization": f"Bearer {TOKEN}"}
    if path.startswith("/ofrep/"):
        return {"Authorization": f"Bearer {keys['flags']}"}
    return {"Authorization": f"Bearer {keys['key']}"}


EXAMPLES_PER_OPERATION = 15


def test_schemathesis_finds_no_5xx_and_no_answer_off_schema(
    slack_services: Services, served: tuple[str, dict[str, str]]
) -> None:
    """A bounded run: a few examples per operation, every answer checked for 5xx and against its schema."""
    url, keys = served
    schema = schemathesis.openapi.from_dict(document(_app(slack_services).routes))
    failures: list[str] = []
    sent: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def run(case: Any) -> None:
            response = case.call(base_url=url, headers=_auth(case.path, keys), timeout=30)
            sent.append(response.status_code)
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except Exception as exc:  # collected, so one run reports every operation that fails
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:400]}")

        run()
    assert len(sent) >= 5 * len(operations)  # the run really exercised every operation
    assert failures == [], f"{len(failures)} failing answers:\n" + "\n".join(failures[:20])
