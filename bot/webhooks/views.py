"""``POST /webhooks/{source}``: authenticate, parse with the source's parser, hand to the alert service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.alerts.model import AlertIn
from bot.alerts.service import receive
from bot.errors import ApiError
from bot.http import error_response, json_response
from bot.services import Services
from bot.webhooks import alertmanager, generic, grafana, pagerduty
from bot.webhooks.auth import authenticate
from bot.webhooks.common import ParseError

PARSERS: dict[str, Callable[[object], list[AlertIn]]] = {
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
    "pagerduty": pagerduty.parse,
    "generic": generic.parse,
}


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body (PagerDuty signs the bytes), refusing oversize bodies before reading them whole."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", f"the body is {int(declared):,} bytes; the limit is {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"the body exceeds the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def post_webhook(request: Request) -> Response:
    services: Services = request.app.state.services
    source = request.path_params["source"]
    parser = PARSERS.get(source)
    if parser is None:
        known = ", ".join(sorted(PARSERS))
        return error_response(ApiError(404, "unknown_source", f"no webhook {source!r}; known sources: {known}"))
    try:
        body = await read_body(request, services.settings.max_body_bytes)
        authenticate(
            services.settings,
            source,
            request.headers.get("authorization"),
            body,
            request.headers.get("x-pagerduty-signature"),
        )
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
        try:
            alerts = parser(payload)
        except ParseError as exc:
            raise ApiError(422, "invalid_payload", f"not a valid {source} payload: {exc}") from None
    except ApiError as err:
        return error_response(err)
    results = await run_in_threadpool(receive, services, alerts, datetime.now(UTC))
    return json_response(
        {
            "received": len(results),
            "alerts": [{"fingerprint": r.fingerprint, "card_key": r.card_key, "action": r.action} for r in results],
        }
    )


routes = [Route("/webhooks/{source:str}", post_webhook, methods=["POST"])]
