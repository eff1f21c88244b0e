"""HTTP helpers every route shares: JSON answers, problem responses, key authentication, bounded bodies."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot import metrics
from bot.errors import ApiError
from bot.services import Services
from storage import keys as key_store
from storage.models import IngestKey

log = logging.getLogger(__name__)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def error_response(err: ApiError) -> Response:
    metrics.HTTP_ERRORS.labels(err.code).inc()
    headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
    return json_response({"error": err.code, "message": err.message}, err.status, headers)


def authenticate(services: Services, request: Request, scope: str) -> IngestKey:
    """The key behind ``Authorization: Bearer``; raises 401/403 with what to fix."""
    header = request.headers.get("authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(
            401,
            "unauthorized",
            "send your key as 'Authorization: Bearer <key>' (create one with 'afterlaunch keys create')",
        )
    with services.db.session() as session:
        key = key_store.get_active_key(session=session, raw=raw.strip())
    if key is None:
        raise ApiError(401, "unauthorized", "this key is unknown or revoked")
    if scope not in key.scope_set():
        raise ApiError(403, "forbidden", f"this key lacks the '{scope}' scope")
    return key


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing oversize bodies before reading them whole."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(
            413, "too_large", f"the body is {int(declared):,} bytes; the limit is {limit:,}: split the batch"
        )
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"the body exceeds the limit of {limit:,} bytes: split the batch")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise ApiError(422, "invalid_json", f"the body is not valid JSON: {exc}") from None


def problem_handlers() -> dict[Any, Any]:
    """Starlette's own refusals (unknown path, wrong method) and unexpected errors as JSON problems."""

    async def http_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = f"{request.method} {request.url.path[:200]}: {exc.detail}"
        return json_response({"error": code, "message": message}, exc.status_code, exc.headers)

    async def unexpected(request: Request, exc: Exception) -> Response:
        ref = uuid.uuid4().hex[:8]
        log.error("%s %s failed (ref %s)", request.method, request.url.path[:200], ref, exc_info=exc)
        message = f"failed on our side (ref {ref}); the service log has the details"
        return json_response({"error": "internal", "message": message}, 500)

    return {HTTPException: http_problem, Exception: unexpected}
