"""OTLP/HTTP protobuf spans against the event API, for the same requests in the same run.

    python bench/otlp_ingest.py [--requests 20000] [--clients 4] [--workers 2]

Each request of the demo traffic becomes what an instrumented feature exports: a retrieval
span (its documents) and a model-call span (GenAI attributes with prompt and answer), made by
the OpenTelemetry SDK and encoded by its OTLP encoder before the clock starts; 250 requests
(500 spans) per export. The same requests, cut to the fields the spans carry, go to
``POST /v1/events`` in batches of 250 against a second fresh service. Both services are
``afterlaunch serve`` on SQLite, started by bench/ingest.py's helper. Prints spans/s, model
calls stored per second over OTLP, events/s over the event API, and the ratio of the two.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_events, start_server  # bench/ingest.py
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from bot.config import load_settings
from bot.demo.server import free_port
from bot.services import build_services
from storage import keys as key_store

BATCH = 250
MS = 1_000_000
CARRIED = (
    "request_id",
    "timestamp",
    "tenant",
    "intent",
    "session_id",
    "user_id",
    "prompt_version",
    "model",
    "model_requested",
    "provider",
    "prompt",
    "response",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "latency_ms",
    "status",
    "finish_reason",
)


def same_request(event: dict[str, Any], start: datetime, trace_id: str, *, retrievals: bool) -> dict[str, Any]:
    """The event as the spans carry it: the fields above, the model call's start, documents without source."""
    out = {k: event[k] for k in CARRIED if event.get(k) is not None}
    out["timestamp"] = start.isoformat().replace("+00:00", "Z")
    out["trace_id"] = trace_id
    if retrievals:
        out["context"] = [{k: d[k] for k in ("doc_id", "text", "score")} for d in event["context"]]
    return out


def spans_of(events: list[dict[str, Any]], *, retrievals: bool) -> tuple[list[bytes], list[str]]:
    """Export request bodies (per request a retrieval span and a model-call span of one trace), and
    each request's trace id in hex."""
    provider = TracerProvider(resource=Resource.create({"service.name": "assistant"}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    bodies, traces = [], []
    for i in range(0, len(events), BATCH):
        for e in events[i : i + BATCH]:
            start = int(datetime.fromisoformat(e["timestamp"]).timestamp() * 1e9)
            with tracer.start_as_current_span("answer", start_time=start, end_on_exit=False) as root:
                docs: dict[str, Any] = {"openinference.span.kind": "RETRIEVER", "afterlaunch.tenant": e["tenant"]}
                for n, d in enumerate(e["context"]):
                    docs[f"retrieval.documents.{n}.document.id"] = d["doc_id"]
                    docs[f"retrieval.documents.{n}.document.content"] = d["text"]
                    docs[f"retrieval.documents.{n}.document.score"] = d["score"]
                if retrievals:
                    tracer.start_span("kb.search", attributes=docs, start_time=start).end(end_time=start + 40 * MS)
                call = tracer.start_span("chat", attributes=_call_attributes(e), start_time=start + 50 * MS)
                if e["status"] == "error":
                    call.set_status(Status(StatusCode.ERROR, "upstream error"))
                    call.set_attribute("error.type", "APIError")
                call.end(end_time=start + 50 * MS + int(e["latency_ms"] * MS))
            root.end(end_time=start + 60 * MS + int(e["latency_ms"] * MS))
            traces.append(f"{root.get_span_context().trace_id:032x}")
        spans = [s for s in memory.get_finished_spans() if s.name != "answer"]  # the root is not sent
        memory.clear()
        bodies.append(encode_spans(spans).SerializeToString())
    provider.shutdown()
    return bodies, traces


def _call_attributes(e: dict[str, Any]) -> dict[str, Any]:
    prompt = e["prompt"]
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": e["provider"],
        "gen_ai.request.model": e["model_requested"],
        "gen_ai.response.model": e["model"],
        "gen_ai.response.id": e["request_id"],
        "gen_ai.usage.input_tokens": e["input_tokens"],
        "gen_ai.usage.output_tokens": e["output_tokens"],
        "gen_ai.usage.cache_read.input_tokens": e["cached_tokens"],
        "gen_ai.conversation.id": e["session_id"],
        "user.id": e["user_id"],
        "afterlaunch.tenant": e["tenant"],
        "afterlaunch.intent": e["intent"],
        "afterlaunch.prompt_version": e["prompt_version"],
        "gen_ai.system_instructions": orjson.dumps([{"type": "text", "content": prompt["system"]}]).decode(),
        "gen_ai.input.messages": orjson.dumps(
            [{"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]} for m in prompt["messages"]]
        ).decode(),
    }
    if e.get("response") is not None:
        output = [{"role": "assistant", "parts": [{"type": "text", "content": e["response"]}], "finish_reason": "stop"}]
        attrs["gen_ai.output.messages"] = orjson.dumps(output).decode()
        attrs["gen_ai.response.finish_reasons"] = [e["finish_reason"]]
    return attrs


def run(
    folder: Path, retrievals: bool, bodies: list[bytes], path: str, content_type: str, workers: int, clients: int
) -> tuple[float, int]:
    """Seconds to post the timed bodies from ``clients`` threads, and the requests the service stored."""
    folder.mkdir(parents=True)
    settings = load_settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'afterlaunch.db'}", config_file=folder / "none.toml"
    )
    services = build_services(settings)
    with services.db.write_session() as session:
        _, key = key_store.create_key(
            session=session, name="bench", tenant=None, scopes={"ingest"}, now=datetime.now(UTC)
        )
    services.close()
    port = free_port()
    proc = start_server(folder, port, workers)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
    warmup, timed = bodies[:2], bodies[2:]
    failures: list[str] = []

    def client(share: list[bytes]) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as c:
            for body in share:
                r = c.post(path, content=body)
                if r.status_code != 200 or (path == "/v1/traces" and r.content):
                    failures.append(f"{r.status_code} {r.content[:200]!r}")

    try:
        client(warmup)
        threads = [threading.Thread(target=client, args=(timed[i::clients],)) for i in range(clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if failures:
        raise SystemExit(f"{len(failures)} exports were refused or partly rejected, first: {failures[0]}")
    with sqlite3.connect(folder / "afterlaunch.db") as con:
        stored = con.execute("SELECT count(*) FROM requests").fetchone()[0]
        with_context = con.execute("SELECT count(*) FROM request_bodies WHERE context IS NOT NULL").fetchone()[0]
    if retrievals and with_context != stored:
        raise SystemExit(f"{stored - with_context} requests were stored without their retrieved context")
    return elapsed, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="server processes (`afterlaunch serve --workers`)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--without-retrievals", action="store_true", help="model-call spans only, and events without context"
    )
    args = parser.parse_args()
    events = make_events(args.requests, args.seed)
    rng = random.Random(args.seed)
    rng.shuffle(events)
    retrievals = not args.without_retrievals
    per_request = 2 if retrievals else 1
    bodies, traces = spans_of(events, retrievals=retrievals)
    starts = [datetime.fromisoformat(e["timestamp"]) + timedelta(milliseconds=50) for e in events]
    same = [
        same_request(e, start, trace, retrievals=retrievals)
        for e, start, trace in zip(events, starts, traces, strict=True)
    ]
    direct = [orjson.dumps({"events": same[i : i + BATCH]}) for i in range(0, len(same), BATCH)]
    timed_requests = len(events) - 2 * BATCH
    size = sum(map(len, bodies)) / len(events)
    print(
        f"{len(events):,} requests, {BATCH} per call; OTLP: {per_request} span(s) per request, "
        f"{size:,.0f} protobuf bytes per request"
    )
    one, five, fifteen = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average before {one:.2f} {five:.2f} {fifteen:.2f}")
    with tempfile.TemporaryDirectory(prefix="afterlaunch-bench-") as tmp:
        otlp_s, otlp_stored = run(
            Path(tmp) / "otlp", retrievals, bodies, "/v1/traces", "application/x-protobuf", args.workers, args.clients
        )
        load_between = os.getloadavg()[0]
        api_s, api_stored = run(
            Path(tmp) / "api", retrievals, direct, "/v1/events", "application/json", args.workers, args.clients
        )
    spans_rate = per_request * timed_requests / otlp_s
    calls_rate = timed_requests / otlp_s
    events_rate = timed_requests / api_s
    print(f"OTLP protobuf: {spans_rate:,.0f} spans/s = {calls_rate:,.0f} model calls/s ({otlp_stored:,})")
    print(f"event API:     {events_rate:,.0f} events/s ({api_stored:,} stored)")
    print(f"spans/s over events/s: {spans_rate / events_rate:.2f}")
    print(f"model calls/s over events/s (the same requests stored): {calls_rate / events_rate:.2f}")
    print(f"load average: between runs {load_between:.2f}, after {os.getloadavg()[0]:.2f}")
    verdict = {True: "MET", False: "NOT MET"}
    print(
        f"goals: >= 5,000 spans/s {verdict[spans_rate >= 5000]}; "
        f">= 0.7 of the direct API, same requests {verdict[calls_rate / events_rate >= 0.7]}"
    )


if __name__ == "__main__":
    main()
