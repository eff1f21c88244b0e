"""HTTP routes: OTLP/HTTP traces (and Langfuse's path for it) and LiteLLM's logger, thin over the services."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import http
from bot import metrics as bot_metrics
from bot.config import Settings
from bot.errors import ApiError
from bot.ingest.service import Writer
from bot.otlp import decode, litellm, service
from bot.otlp import metrics as otlp_metrics
from bot.otlp.config import OtlpConfig
from bot.services import Services
from storage import keys as key_store
from storage.models import IngestKey


def otlp_config(settings: Settings) -> OtlpConfig:
    """``[otlp]`` of the TOML file (its defaults when the file has no such section)."""
    section: OtlpConfig = settings.file.otlp
    return section


def raw_key(request: Request, *, basic: bool) -> str | None:
    """The key from ``Bearer <key>``, or (Langfuse's endpoint) ``Basic`` with the key as password."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return value
    if basic and scheme == "basic" and value:
        try:
            _, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or None
    return None


def authenticate(services: Services, request: Request, *, basic: bool) -> IngestKey:
    """The ingest key of the request, or an OTLP error saying what to send."""
    raw = raw_key(request, basic=basic)
    if raw is None:
        how = "'Authorization: Bearer <key>'" + (" or Basic auth with the key as password" if basic else "")
        raise decode.OtlpError(401, f"send your afterlaunch key as {how}")
    with services.db.session() as session:
        key = key_store.get_active_key(session=session, raw=raw)
    if key is None:
        raise decode.OtlpError(401, "this key is unknown or revoked")
    if "ingest" not in key.scope_set():
        raise decode.OtlpError(403, "this key lacks the 'ingest' scope")
    return key


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past ``limit`` before it is read whole."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise decode.OtlpError(
            413, f"the body is {int(declared):,} bytes; the limit is {limit:,}: export smaller batches"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise decode.OtlpError(413, f"the body exceeds the limit of {limit:,} bytes: export smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


async def post_traces(request: Request, *, basic: bool = False) -> Response:
    """``POST /v1/traces``: OTLP/HTTP trace export; LLM-call spans become events, retrievals their context.
    ---
    summary: Ingest OTLP trace spans (GenAI, OpenLLMetry, OpenInference)
    security: [{bearer: []}]
    requestBody:
      required: true
      description: an OTLP ExportTraceServiceRequest
      content:
        application/x-protobuf:
          schema: {}
        application/json:
          schema: {}
    responses:
      "200":
        description: an ExportTraceServiceResponse whose partial_success names rejected spans
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
    cfg = otlp_config(services.settings)
    limit = services.settings.max_body_bytes
    kind = decode.JSON
    try:
        kind = decode.media_type(request.headers.get("content-type"))
        key = await run_in_threadpool(authenticate, services, request, basic=basic)
        body = decode.inflate(await read_body(request, limit), request.headers.get("content-encoding"), limit)
        export = await run_in_threadpool(decode.parse_request, body, kind)
        mapped = await run_in_threadpool(service.map_request, export, cfg, key_tenant=key.tenant)
        spans = len(mapped.calls) + len(mapped.retrievals)
        if spans > cfg.max_spans:
            raise decode.OtlpError(413, f"{spans} spans in one export; the limit is {cfg.max_spans}")
    except decode.OtlpError as err:
        bot_metrics.HTTP_ERRORS.labels(f"otlp_{err.status}").inc()
        return Response(decode.status_body(kind, err.status, err.message), err.status, media_type=kind)
    writer = Writer(key_id=key.id, tenant=key.tenant)
    result = await run_in_threadpool(
        service.store, services.db, mapped, cfg=cfg, ingest_cfg=services.ingest, writer=writer, now=datetime.now(UTC)
    )
    if result.accepted:
        services.wake_text_index.set()
    for outcome, n in (
        ("accepted", result.accepted),
        ("duplicate", result.duplicates),
        ("rejected", result.rejected),
        ("retrieval", result.retrievals),
        ("dropped", result.dropped),
    ):
        otlp_metrics.SPANS.labels(outcome).inc(n)
    for name, n in result.unknown.items():
        otlp_metrics.UNKNOWN.labels(name).inc(n)
    return Response(decode.export_response(kind, result.rejected, result.message()), 200, media_type=kind)


async def post_langfuse_traces(request: Request) -> Response:
    """The same as ``POST /v1/traces`` at the path tools configured for Langfuse send to (Basic auth too).
    ---
    summary: Ingest OTLP trace spans at the Langfuse-compatible path
    security: [{bearer: []}]
    requestBody:
      required: true
      description: an OTLP ExportTraceServiceRequest
      content:
        application/x-protobuf:
          schema: {}
        application/json:
          schema: {}
    responses:
      "200":
        description: an ExportTraceServiceResponse
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
    return await post_traces(request, basic=True)


async def post_litellm(request: Request) -> Response:
    """``POST /v1/integrations/litellm``: same keys, limits and answer shape as ``POST /v1/events``.
    ---
    summary: Ingest LiteLLM proxy logs
    security: [{bearer: []}]
    requestBody:
      required: true
      description: LiteLLM standard logging payloads as a JSON array, one object, or NDJSON
      content:
        application/json:
          schema: {}
        application/x-ndjson:
          schema: {}
    responses:
      "200":
        description: what was stored, what was a duplicate, and each rejection
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
    settings = services.settings
    try:
        key = await run_in_threadpool(http.authenticate, services, request, "ingest")
        try:
            body = await read_body(request, settings.max_body_bytes)
        except decode.OtlpError as err:
            raise ApiError(err.status, "too_large", err.message) from None
        try:
            entries = litellm.parse_entries(body)
        except ValueError as exc:
            raise ApiError(422, "invalid_json", f"the body is not a JSON array, object or NDJSON: {exc}") from None
        if len(entries) > settings.max_batch_events:
            raise ApiError(413, "too_many_events", f"{len(entries)} entries; the limit is {settings.max_batch_events}")
    except ApiError as err:
        return http.error_response(err)
    writer = Writer(key_id=key.id, tenant=key.tenant)
    result = await run_in_threadpool(
        litellm.store,
        services.db,
        entries,
        cfg=otlp_config(settings),
        ingest_cfg=services.ingest,
        writer=writer,
        now=datetime.now(UTC),
    )
    if result.accepted:
        services.wake_text_index.set()
    for outcome, n in (("accepted", result.accepted), ("duplicate", result.duplicates), ("rejected", result.rejected)):
        otlp_metrics.LITELLM.labels(outcome).inc(n)
    status = 422 if entries and result.rejected == len(entries) else 200
    return http.json_response(result.model_dump(), status)


ROUTES = [
    Route("/v1/traces", post_traces, methods=["POST"]),
    Route("/api/public/otel/v1/traces", post_langfuse_traces, methods=["POST"]),
    Route("/v1/integrations/litellm", post_litellm, methods=["POST"]),
]
