"""HTTP helpers every route shares: JSON answers, problem responses, key authentication, bounded bodies."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from bot import metrics
from bot.errors import ApiError, problem_of
from bot.services import Services
from storage import keys as key_store
from storage.models import IngestKey


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def error_response(err: BaseException, *, where: str = "this request") -> Response:
    """The HTTP problem for any error: ``{"error": code, "message": what to fix}`` with its status."""
    problem = problem_of(err, where=where)
    metrics.HTTP_ERRORS.labels(problem.code).inc()
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return json_response({"error": problem.code, "message": problem.message}, problem.status, headers)


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
