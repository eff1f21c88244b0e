"""POST /v1/traces over loopback: encodings, errors, partial success, tenants, idempotency, late joins."""

from __future__ import annotations

import base64
import gzip
import time
from typing import Any

import httpx
import orjson
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import Tracer
from sqlalchemy import func, select

from bot.otlp.config import OtlpConfig
from bot.services import Services
from storage.models import LLMRequest
from tests.conftest import make_key
from tests.otlp.sdk import expected_context, retriever_attributes
from tests.otlp.spans import MS, body, chat_span, encode, llm_attrs, record

PB = {"Content-Type": "application/x-protobuf"}


def post(api: str, key: str | None, content: bytes, path: str = "/v1/traces", **headers: str) -> httpx.Response:
    h = {**PB, **headers}
    if key:
        h.setdefault("Authorization", f"Bearer {key}")
    return httpx.post(f"{api}{path}", content=content, headers=h, timeout=30)


def partial(r: httpx.Response) -> tuple[int, str]:
    assert r.status_code == 200, r.content
    msg = ExportTraceServiceResponse()
    msg.ParseFromString(r.content)
    return msg.partial_success.rejected_spans, msg.partial_success.error_message


def stored(services: Services) -> int:
    with services.db.session() as s:
        return s.execute(select(func.count()).select_from(LLMRequest)).scalar_one()


def get(api: str, key: str, request_id: str) -> dict[str, Any]:
    r = httpx.get(f"{api}/v1/requests/{request_id}", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return r.json()


def one_call(request_id: str = "chatcmpl-1", **extra: Any) -> bytes:
    return body(record(lambda t: chat_span(t, llm_attrs(request_id, **extra))))


def test_a_protobuf_export_is_stored_and_answered_with_an_empty_partial_success(api: str, services: Services) -> None:
    key = make_key(services)
    assert partial(post(api, key, one_call())) == (0, "")
    doc = get(api, key, "chatcmpl-1")
    assert (doc["tenant"], doc["model"], doc["input_tokens"], doc["status"]) == (
        "acme",
        "gpt-4o-mini-2024-07-18",
        812,
        "ok",
    )


def test_truncated_protobuf_is_400_with_a_status_and_stores_nothing(api: str, services: Services) -> None:
    key = make_key(services)
    whole = body(record(lambda t: [chat_span(t, llm_attrs(f"chatcmpl-{n}")) for n in range(5)]))
    r = post(api, key, whole[: len(whole) // 2])
    assert r.status_code == 400
    status = Status()
    status.ParseFromString(r.content)
    assert "protobuf" in status.message
    assert stored(services) == 0


def test_wrong_content_type_is_415(api: str, services: Services) -> None:
    r = post(api, make_key(services), one_call(), **{"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert "application/x-protobuf" in r.json()["message"]
    assert stored(services) == 0


def test_a_20_mb_body_is_413_and_a_gzip_bomb_too(api: str, services: Services) -> None:
    key = make_key(services)
    r = post(api, key, b"\x0a" * (20 * 1024 * 1024))
    assert r.status_code == 413
    bomb = gzip.compress(b"\x00" * (20 * 1024 * 1024))
    r = post(api, key, bomb, **{"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert "inflates past" in Status.FromString(r.content).message
    assert stored(services) == 0


def test_gzip_and_json_encodings_are_accepted(api: str, services: Services) -> None:
    key = make_key(services)
    assert partial(post(api, key, gzip.compress(one_call("chatcmpl-gz")), **{"Content-Encoding": "gzip"})) == (0, "")
    as_json = json_format.MessageToDict(encode(record(lambda t: chat_span(t, llm_attrs("chatcmpl-json")))))
    for rs in as_json["resourceSpans"]:  # OTLP JSON: ids in hex
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for k in ("traceId", "spanId"):
                    span[k] = base64.b64decode(span[k]).hex()
    r = httpx.post(
        f"{api}/v1/traces",
        content=orjson.dumps(as_json),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == {}
    doc = get(api, key, "chatcmpl-json")
    assert doc["trace_id"] == as_json["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    r = httpx.post(
        f"{api}/v1/traces",
        content=b"{not json",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "JSON" in r.json()["message"]


def test_absurd_tokens_and_timestamps_are_rejected_span_by_span(api: str, services: Services) -> None:
    key = make_key(services)
    now = time.time_ns()

    def build(t: Tracer) -> None:
        chat_span(t, llm_attrs("chatcmpl-ok"))
        chat_span(t, llm_attrs("chatcmpl-tokens", **{"gen_ai.usage.input_tokens": 10**15}))
        chat_span(t, llm_attrs("chatcmpl-future"), start_ns=now + 365 * 86_400_000 * MS)
        chat_span(t, llm_attrs("chatcmpl-epoch"), start_ns=1)
        chat_span(t, llm_attrs("chatcmpl-slow"), duration_ms=3 * 86_400_000)

    rejected, message = partial(post(api, key, body(record(build))))
    assert rejected == 4
    assert "input_tokens" in message and "future" in message and "year 2000" in message and "latency_ms" in message
    assert stored(services) == 1
    assert get(api, key, "chatcmpl-ok")["input_tokens"] == 812


def test_a_tenant_bound_key_cannot_write_another_tenants_spans(api: str, services: Services) -> None:
    key = make_key(services, tenant="acme")

    def build(t: Tracer) -> None:
        chat_span(t, llm_attrs("chatcmpl-mine"))
        chat_span(t, llm_attrs("chatcmpl-theirs", **{"afterlaunch.tenant": "globex"}))
        chat_span(t, {k: v for k, v in llm_attrs("chatcmpl-unnamed").items() if k != "afterlaunch.tenant"})

    rejected, message = partial(post(api, key, body(record(build))))
    assert rejected == 1 and "may only write tenant 'acme'" in message and "globex" in message
    assert get(api, key, "chatcmpl-unnamed")["tenant"] == "acme"  # the key forces its tenant
    assert stored(services) == 2


def test_spans_without_tenant_are_rejected_unless_a_default_is_set(
    api: str, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key(services)
    no_tenant = body(record(lambda t: chat_span(t, {"gen_ai.response.id": "chatcmpl-x"})))
    rejected, message = partial(post(api, key, no_tenant))
    assert rejected == 1 and "no tenant" in message and "default_tenant" in message
    assert stored(services) == 0
    file = services.settings.file.model_copy(update={"otlp": OtlpConfig(default_tenant="fallback")})
    monkeypatch.setattr(services.settings, "file", file)
    assert partial(post(api, key, no_tenant)) == (0, "")
    doc = get(api, key, "chatcmpl-x")
    assert (doc["tenant"], doc["intent"], doc["prompt_version"]) == ("fallback", "unknown", "unknown")


def test_a_resent_export_stores_nothing_twice(api: str, services: Services) -> None:
    key = make_key(services)
    spans = record(lambda t: [chat_span(t, llm_attrs(f"chatcmpl-{n}")) for n in range(3)])
    assert partial(post(api, key, body(spans))) == (0, "")
    assert partial(post(api, key, body(spans))) == (0, "")
    assert stored(services) == 3


def test_other_spans_are_dropped_and_counted(api: str, services: Services) -> None:
    key = make_key(services)

    def build(t: Tracer) -> None:
        t.start_span("GET /health").end()
        t.start_span("SELECT users", attributes={"db.system": "postgresql"}).end()

    assert partial(post(api, key, body(record(build)))) == (0, "")
    assert stored(services) == 0
    assert 'afterlaunch_otlp_spans_total{outcome="dropped"}' in httpx.get(f"{api}/metrics").text


def test_a_retrieval_arriving_after_its_model_call_becomes_its_context(api: str, services: Services) -> None:
    key = make_key(services)

    retrieval = {**retriever_attributes(), "afterlaunch.tenant": "acme"}

    def build(t: Tracer) -> None:
        with t.start_as_current_span("answer"):
            start = time.time_ns() - 60_000 * MS
            t.start_span("kb.search", attributes=retrieval, start_time=start).end(end_time=start + 40 * MS)
            chat_span(
                t, {"gen_ai.response.id": "chatcmpl-late", "afterlaunch.tenant": "acme"}, start_ns=start + 50 * MS
            )
            # a second call long after the retrieval: outside the join window, no context
            chat_span(
                t, {"gen_ai.response.id": "chatcmpl-later", "afterlaunch.tenant": "acme"}, start_ns=start + 40_000 * MS
            )

    spans = record(build)
    retrieved = [s for s in spans if s.name == "kb.search"]
    calls = [s for s in spans if s.name != "kb.search"]
    assert partial(post(api, key, body(calls))) == (0, "")
    assert get(api, key, "chatcmpl-late")["context"] is None
    assert partial(post(api, key, body(retrieved))) == (0, "")
    assert get(api, key, "chatcmpl-late")["context"] == expected_context()
    assert get(api, key, "chatcmpl-later")["context"] is None
    assert partial(post(api, key, body(retrieved))) == (0, "")  # resent: still one context, nothing twice
    assert get(api, key, "chatcmpl-late")["context"] == expected_context()


def test_a_call_resent_together_with_its_late_retrieval_gets_the_context(api: str, services: Services) -> None:
    key = make_key(services)
    retrieval = {**retriever_attributes(), "afterlaunch.tenant": "acme"}

    def build(t: Tracer) -> None:
        with t.start_as_current_span("answer"):
            start = time.time_ns() - 60_000 * MS
            t.start_span("kb.search", attributes=retrieval, start_time=start).end(end_time=start + 40 * MS)
            chat_span(
                t, {"gen_ai.response.id": "chatcmpl-again", "afterlaunch.tenant": "acme"}, start_ns=start + 50 * MS
            )

    spans = [s for s in record(build) if s.name != "answer"]
    assert partial(post(api, key, body([s for s in spans if s.name != "kb.search"]))) == (0, "")
    assert get(api, key, "chatcmpl-again")["context"] is None
    assert partial(post(api, key, body(spans))) == (0, "")  # a collector retry regrouped the spans
    assert get(api, key, "chatcmpl-again")["context"] == expected_context()
    assert stored(services) == 1


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_the_langfuse_path_takes_basic_auth_with_the_key_as_password(api: str, services: Services, scheme: str) -> None:
    key = make_key(services)
    auth = (
        "Basic " + base64.b64encode(f"pk-lf-anything:{key}".encode()).decode() if scheme == "basic" else f"Bearer {key}"
    )
    r = post(api, None, one_call("chatcmpl-lf"), path="/api/public/otel/v1/traces", Authorization=auth)
    assert partial(r) == (0, "")
    assert get(api, key, "chatcmpl-lf")["tenant"] == "acme"
    wrong = "Basic " + base64.b64encode(b"pk:al_wrong-key-0000000000000000").decode()
    assert post(api, None, one_call(), path="/api/public/otel/v1/traces", Authorization=wrong).status_code == 401
    # Basic auth is for Langfuse's path only
    assert post(api, None, one_call(), Authorization=auth if scheme == "basic" else "Basic eA==").status_code == 401
