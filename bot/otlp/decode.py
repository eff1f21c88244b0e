"""OTLP/HTTP request bodies in and responses out, with the messages of ``opentelemetry-proto``.

The OTLP specification fixes the transport: protobuf or JSON (ids in hex, not base64),
optional gzip, answers in the encoding of the request, errors as ``google.rpc.Status``.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class OtlpError(Exception):
    """A request the OTLP answer refuses as a whole: HTTP status plus a message for the sender."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(content_type: str | None) -> str:
    """``protobuf`` or ``json`` for the two encodings OTLP/HTTP defines; 415 for anything else."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if kind == JSON:
        return JSON
    raise OtlpError(415, f"content type {kind or '(none)'!r} is not OTLP: send {PROTOBUF} or {JSON}")


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its content encoding, refusing one that inflates past ``limit``."""
    enc = (encoding or "identity").strip().lower()
    if enc == "identity":
        return body
    if enc != "gzip":
        raise OtlpError(415, f"content encoding {enc!r} is not supported: send gzip or none")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OtlpError(400, f"the gzip body does not inflate: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise OtlpError(413, f"the body inflates past the limit of {limit:,} bytes: export smaller batches")
    if not inflater.eof:
        raise OtlpError(400, "the gzip body is truncated")
    return out


def parse_request(body: bytes, kind: str) -> ExportTraceServiceRequest:
    """The export request; 400 naming the problem when the body does not decode."""
    message = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise OtlpError(400, f"the body is not an ExportTraceServiceRequest in protobuf: {exc}") from None
        return message
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OtlpError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OtlpError(400, "the body must be a JSON object with resourceSpans")
    try:
        _hex_ids_to_base64(data)
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        raise OtlpError(400, f"the body is not an ExportTraceServiceRequest in OTLP JSON: {exc}") from None
    return message


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(data: dict[str, Any]) -> None:
    # OTLP JSON writes trace and span ids in hex where protobuf's JSON mapping expects base64.
    for rs in _list(data, "resourceSpans", "resource_spans"):
        for ss in _list(rs, "scopeSpans", "scope_spans"):
            for span in _list(ss, "spans"):
                for holder in (span, *_list(span, "links")):
                    for name in _ID_FIELDS:
                        value = holder.get(name) if isinstance(holder, dict) else None
                        if isinstance(value, str) and value:
                            try:
                                holder[name] = base64.b64encode(bytes.fromhex(value)).decode()
                            except ValueError:
                                raise ValueError(f"{name} {value[:40]!r} is not hex") from None


def _list(obj: Any, *names: str) -> list[Any]:
    if not isinstance(obj, dict):
        return []
    for name in names:
        value = obj.get(name)
        if isinstance(value, list):
            return value
    return []


def export_response(kind: str, rejected: int, message: str) -> bytes:
    """The standard success answer, ``partial_success`` filled only when something was rejected."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if kind == PROTOBUF:
        return response.SerializeToString()
    return orjson.dumps(json_format.MessageToDict(response))


def status_body(kind: str, code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` for an error answer, in the encoding the client sent (JSON if unknown)."""
    status = Status(code=code, message=message)
    if kind == PROTOBUF:
        return status.SerializeToString()
    return orjson.dumps(json_format.MessageToDict(status))
