"""OpenFeature Remote Evaluation Protocol (OFREP) endpoints, as in open-feature/protocol's service/openapi.yaml.

``POST /ofrep/v1/evaluate/flags/{key}`` evaluates one flag (server providers
call it on every evaluation); ``POST /ofrep/v1/evaluate/flags`` evaluates them
all with an ETag, so polling clients get ``304`` until a toggle or a different
context; ``GET /ofrep/v1/configuration`` tells providers what we support.
API keys need the ``flags`` scope; send them as ``Authorization: Bearer`` or ``X-API-Key``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.errors import ApiError, problem_of
from bot.flags.model import EvaluationError, Scope, Snapshot, evaluate, parse_context
from bot.flags.snapshot import FlagRuntime, runtime_for, sync_config_flags
from bot.http import json_response
from bot.services import Services
from storage import keys as key_store

log = logging.getLogger(__name__)
T = TypeVar("T")

SCOPE = "flags"
MAX_BODY = 64 * 1024
CONFIGURATION = {
    "name": "afterlaunch",
    "capabilities": {
        "cacheInvalidation": {"polling": {"enabled": True, "minPollingIntervalMs": 1000}},
        "flagEvaluation": {"supportedTypes": ["boolean"], "unsupportedTypes": ["int", "float", "string", "object"]},
        "caching": {"enabled": False},
    },
}
_CONFIG_BODY = orjson.dumps(CONFIGURATION)
_CONFIG_ETAG = '"' + hashlib.blake2b(_CONFIG_BODY, digest_size=8).hexdigest() + '"'


def _raw_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() == "bearer" and raw.strip():
        return raw.strip()
    api_key = request.headers.get("x-api-key", "").strip()
    if api_key:
        return api_key
    raise ApiError(
        401, "unauthorized", "send an afterlaunch key with the 'flags' scope as 'Authorization: Bearer <key>'"
    )


def _state(services: Services, raw: str) -> tuple[str | None, Snapshot]:
    tenant, snapshot, _ = _state_with_runtime(services, raw)
    return tenant, snapshot


def _state_with_runtime(services: Services, raw: str) -> tuple[str | None, Snapshot, FlagRuntime]:
    """Authenticate and read the current flags: the key is checked on every request (a revoked
    key stops at once) and the snapshot is reloaded only when the version moved."""
    runtime = runtime_for(services)
    if not runtime.synced:
        sync_config_flags(services, datetime.now(UTC))
    with services.db.engine.connect() as conn:
        row = key_store.get_key_with_flags_version(connection=conn, raw=raw)
    if row is None or row.revoked_at is not None:
        raise ApiError(401, "unauthorized", "this key is unknown or revoked")
    if SCOPE not in row.scopes.split(","):
        raise ApiError(403, "forbidden", f"this key lacks the '{SCOPE}' scope")
    return row.tenant, runtime.cache.at_version(services, int(row.version or 0)), runtime


async def _read(fn: Callable[[Services, str], T], services: Services, raw: str) -> T:
    """On SQLite (WAL: readers never wait for writers) two indexed lookups take tens of microseconds,
    less than a thread hop, so they run inline; on PostgreSQL they go to the thread pool."""
    if services.db.is_sqlite and runtime_for(services).synced:
        return fn(services, raw)
    return await run_in_threadpool(fn, services, raw)


def _auth_error(err: ApiError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
    return json_response({"errorDetails": err.message}, err.status, headers)


def _general(where: str, exc: Exception) -> Response:
    """OFREP's shape for our own failures; the message (and its logged reference) comes from the one mapping."""
    problem = problem_of(exc, where=f"OFREP {where}")
    return json_response({"errorCode": "GENERAL", "errorDetails": problem.message}, 500)


async def _context(request: Request) -> Any:
    """The request's ``context``; PARSE_ERROR when the body is not a JSON object."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise EvaluationError("PARSE_ERROR", f"the body exceeds {MAX_BODY} bytes")
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EvaluationError("PARSE_ERROR", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EvaluationError("PARSE_ERROR", 'the body must be a JSON object like {"context": {...}}')
    return data.get("context")


async def evaluate_flag(request: Request) -> Response:
    services: Services = request.app.state.services
    key = request.path_params["key"]
    try:
        raw = _raw_key(request)
        context = await _context(request)
        tenant, snapshot = await _read(_state, services, raw)
        flag = snapshot.flags.get(key)
        if flag is None:
            return json_response({"key": key, "errorCode": "FLAG_NOT_FOUND", "errorDetails": f"no flag '{key}'"}, 404)
        result = evaluate(flag, parse_context(context, bound_tenant=tenant)).to_json()
    except ApiError as err:
        return _auth_error(err)
    except EvaluationError as err:
        return json_response({"key": key, "errorCode": err.code, "errorDetails": err.details}, 400)
    except Exception as exc:
        return _general("evaluation", exc)
    result["cacheable"] = False
    return json_response(result)


BULK_CACHE_SIZE = 4096
"""Encoded bulk answers kept per process, by ETag (flags version + attributes): same tag, same answer."""


def etag_for(version: int, attrs: Scope) -> str:
    """Same flags version and same targeting attributes -> same answer -> same tag, on every replica."""
    digest = hashlib.blake2b(orjson.dumps(attrs, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()
    return f'"{version}-{digest}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def bulk_flags(snapshot: Snapshot, attrs: Scope) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key in sorted(snapshot.flags):
        try:
            out.append(evaluate(snapshot.flags[key], attrs).to_json())
        except EvaluationError as err:
            out.append({"key": key, "errorCode": err.code, "errorDetails": err.details})
    return out


async def evaluate_all(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        raw = _raw_key(request)
        context = await _context(request)
        tenant, snapshot, runtime = await _read(_state_with_runtime, services, raw)
        attrs = parse_context(context, bound_tenant=tenant)
        etag = etag_for(snapshot.version, attrs)
        if matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag})
        body = runtime.bulk.get(etag)
        if body is None:
            body = orjson.dumps({"flags": bulk_flags(snapshot, attrs)})
            if len(runtime.bulk) >= BULK_CACHE_SIZE:
                runtime.bulk.clear()
            runtime.bulk[etag] = body
    except ApiError as err:
        return _auth_error(err)
    except EvaluationError as err:
        return json_response({"errorCode": err.code, "errorDetails": err.details}, 400)
    except Exception as exc:
        return _general("bulk evaluation", exc)
    return Response(body, media_type="application/json", headers={"ETag": etag})


async def configuration(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        await run_in_threadpool(_state, services, _raw_key(request))
    except ApiError as err:
        return _auth_error(err)
    except Exception as exc:
        return _general("configuration", exc)
    if matches(request.headers.get("if-none-match"), _CONFIG_ETAG):
        return Response(status_code=304, headers={"ETag": _CONFIG_ETAG})
    return Response(_CONFIG_BODY, media_type="application/json", headers={"ETag": _CONFIG_ETAG})


routes = [
    Route("/ofrep/v1/evaluate/flags/{key}", evaluate_flag, methods=["POST"]),
    Route("/ofrep/v1/evaluate/flags", evaluate_all, methods=["POST"]),
    Route("/ofrep/v1/configuration", configuration, methods=["GET"]),
]
