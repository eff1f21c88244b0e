"""HTTP routes of the evals signals: authenticate with an ingest key, parse, call the service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.errors import ApiError
from bot.evals import signals
from bot.evals.schema import SignalResult
from bot.http import authenticate, error_response, json_response, read_json
from bot.services import Services
from storage.models import IngestKey

MAX_ITEMS = 1000


def _list_field(body: Any, name: str, allowed: set[str]) -> list[Any]:
    """The body's list under ``name``, refusing other shapes with what is expected."""
    if not isinstance(body, dict) or not isinstance(body.get(name), list):
        raise ApiError(422, "invalid_body", f'the body must be a JSON object {{"{name}": [...]}}')
    extra = set(body) - allowed
    if extra:
        raise ApiError(422, "invalid_body", f"unknown top-level field(s): {', '.join(sorted(extra))}")
    items = body[name]
    if len(items) > MAX_ITEMS:
        raise ApiError(413, "too_many_items", f"{len(items)} {name} in one call; the limit is {MAX_ITEMS}")
    return items


def _answer(result: SignalResult, sent: int) -> Response:
    status = 422 if sent and result.rejected == sent else 200
    return json_response(result.model_dump(), status)


async def _signal(
    request: Request, name: str, store: Callable[[Services, list[Any], IngestKey, datetime], SignalResult]
) -> Response:
    services: Services = request.app.state.services
    try:
        key = await run_in_threadpool(authenticate, services, request, "ingest")
        body = await read_json(request, services.settings.max_body_bytes)
        items = _list_field(body, name, {name})
    except ApiError as err:
        return error_response(err)
    result = await run_in_threadpool(store, services, items, key, datetime.now(UTC))
    return _answer(result, len(items))


async def post_feedback(request: Request) -> Response:
    """Record end-user feedback on logged requests; idempotent, each bad item rejected alone with its field path.
    ---
    summary: Record end-user feedback on logged requests
    security: [{bearer: []}]
    requestBody:
      required: true
      description: feedback items, each a score of 1, -1 or 0 or a value in [0, 1] on a request_id
      content:
        application/json:
          schema: {}
    responses:
      "200":
        description: what was stored, updated or a duplicate, and each rejection
      "400":
        description: a body that cannot be decoded
      "401":
        description: no key, or an unknown one
      "403":
        description: a key without the ingest scope, or bound to another tenant
      "413":
        description: the body is over the size limit
      "415":
        description: a content type or encoding this endpoint does not take
      "422":
        description: every item was rejected, each with its field path
    """
    return await _signal(
        request, "feedback", lambda s, items, key, now: signals.store_feedback(s, items, key=key, now=now)
    )


async def post_labels(request: Request) -> Response:
    """Record labels made in another tool; idempotent, each bad item rejected alone with its field path.
    ---
    summary: Record labels made in another tool
    security: [{bearer: []}]
    requestBody:
      required: true
      description: label items, each pass, fail or unsure on a request_id by a labeller
      content:
        application/json:
          schema: {}
    responses:
      "200":
        description: what was stored, updated or a duplicate, and each rejection
      "400":
        description: a body that cannot be decoded
      "401":
        description: no key, or an unknown one
      "403":
        description: a key without the ingest scope, or bound to another tenant
      "413":
        description: the body is over the size limit
      "415":
        description: a content type or encoding this endpoint does not take
      "422":
        description: every item was rejected, each with its field path
    """
    return await _signal(request, "labels", lambda s, items, key, now: signals.store_labels(s, items, key=key, now=now))


async def post_results(request: Request) -> Response:
    """Record a run of the offline eval suite; idempotent, each bad item rejected alone with its field path.
    ---
    summary: Record a run of the offline eval suite
    security: [{bearer: []}]
    requestBody:
      required: true
      description: the run (suite, started_at) and its results per case
      content:
        application/json:
          schema: {}
    responses:
      "200":
        description: what was stored, updated or a duplicate, and each rejection
      "400":
        description: a body that cannot be decoded
      "401":
        description: no key, or an unknown one
      "403":
        description: a key without the ingest scope, or bound to another tenant
      "413":
        description: the body is over the size limit
      "415":
        description: a content type or encoding this endpoint does not take
      "422":
        description: every item was rejected, each with its field path
    """
    services: Services = request.app.state.services
    try:
        key = await run_in_threadpool(authenticate, services, request, "ingest")
        if key.tenant is not None:
            raise ApiError(
                403,
                "forbidden",
                f"this key is bound to tenant '{key.tenant}'; offline suite runs belong to no tenant: "
                "send them with an unbound key",
            )
        body = await read_json(request, services.settings.max_body_bytes)
        items = _list_field(body, "results", {"run", "results"})
        if not isinstance(body.get("run"), dict):
            raise ApiError(422, "invalid_body", 'the body needs "run": {"suite", "started_at", ...}')
    except ApiError as err:
        return error_response(err)
    result, header = await run_in_threadpool(
        lambda: signals.store_run(services, body["run"], items, now=datetime.now(UTC))
    )
    if header is None:
        err = result.errors[0] if result.errors else None
        where = f"{err.field}: {err.message}" if err else "run is invalid"
        return json_response({"error": "invalid_run", "message": where, "errors": result.model_dump()["errors"]}, 422)
    return _answer(result, len(items))


routes = [
    Route("/v1/feedback", post_feedback, methods=["POST"]),
    Route("/v1/evals/labels", post_labels, methods=["POST"]),
    Route("/v1/evals/results", post_results, methods=["POST"]),
]
