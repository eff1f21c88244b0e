"""HTTP routes of the event API: thin wrappers that authenticate, parse and call the service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import metrics
from bot.errors import ApiError
from bot.http import authenticate, error_response, json_response, read_json
from bot.ingest.service import Writer, ingest
from bot.services import Services
from storage import requests as request_store
from storage.models import LLMRequest, RequestBody


async def post_events(request: Request) -> Response:
    services: Services = request.app.state.services
    settings = services.settings
    try:
        key = await run_in_threadpool(authenticate, services, request, "ingest")
        body = await read_json(request, settings.max_body_bytes)
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise ApiError(422, "invalid_body", 'the body must be a JSON object {"events": [...]}')
        extra = set(body) - {"events"}
        if extra:
            raise ApiError(422, "invalid_body", f"unknown top-level field(s): {', '.join(sorted(extra))}")
        events = body["events"]
        if len(events) > settings.max_batch_events:
            raise ApiError(
                413,
                "too_many_events",
                f"{len(events)} events in one call; the limit is {settings.max_batch_events}",
            )
    except ApiError as err:
        return error_response(err)
    writer = Writer(key_id=key.id, tenant=key.tenant)
    with metrics.INGEST_SECONDS.time():
        result = await run_in_threadpool(
            ingest, services.db, events, cfg=services.ingest, writer=writer, now=datetime.now(UTC)
        )
    if result.accepted:
        services.wake_text_index.set()
    metrics.EVENTS.labels("accepted").inc(result.accepted)
    metrics.EVENTS.labels("duplicate").inc(result.duplicates)
    metrics.EVENTS.labels("rejected").inc(result.rejected)
    status = 422 if events and result.rejected == len(events) else 200
    return json_response(result.model_dump(), status)


def request_document(row: LLMRequest, body: RequestBody | None) -> dict[str, Any]:
    """The whole triple of one request, as the API returns it."""
    doc = row.model_dump(exclude={"id", "ts_ms", "received_ms", "labels", "ingest_key_id"})
    doc["timestamp"] = datetime.fromtimestamp(row.ts_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
    doc["labels"] = orjson.loads(row.labels) if row.labels else {}
    doc["body_purged"] = body is None
    doc["prompt"] = orjson.loads(body.prompt) if body and body.prompt else None
    doc["context"] = orjson.loads(body.context) if body and body.context else None
    doc["response"] = body.response if body else None
    return doc


async def get_request(request: Request) -> Response:
    services: Services = request.app.state.services
    request_id = request.path_params["request_id"]
    tenant = request.query_params.get("tenant")
    try:
        key = await run_in_threadpool(authenticate, services, request, "read")
        if key.tenant is not None:
            if tenant not in (None, key.tenant):
                raise ApiError(404, "not_found", f"no request {request_id!r} visible to this key")
            tenants: set[str] | None = {key.tenant}
        else:
            tenants = {tenant} if tenant else None

        def lookup() -> list[tuple[LLMRequest, RequestBody | None]]:
            with services.db.session() as session:
                return request_store.get_request(session=session, request_id=request_id, tenants=tenants)

        found = await run_in_threadpool(lookup)
        if not found:
            raise ApiError(404, "not_found", f"no request {request_id!r} visible to this key")
        if len(found) > 1:
            names = ", ".join(r.tenant for r, _ in found)
            raise ApiError(
                409,
                "ambiguous",
                f"request id {request_id!r} exists in several tenants ({names}): add ?tenant=",
            )
    except ApiError as err:
        return error_response(err)
    return json_response(request_document(*found[0]))


routes = [
    Route("/v1/events", post_events, methods=["POST"]),
    Route("/v1/requests/{request_id:str}", get_request, methods=["GET"]),
]
