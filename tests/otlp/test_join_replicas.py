"""Two replicas (two services on one database) receive a model call and its retrieval at the same moment."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import orjson
from opentelemetry.sdk.trace import Tracer

from bot.config import Settings
from bot.ingest.service import Writer
from bot.otlp import service
from bot.otlp.config import OtlpConfig
from bot.services import Services, build_services
from storage import requests as request_store
from tests.otlp.sdk import expected_context, retriever_attributes
from tests.otlp.spans import MS, chat_span, encode, record

CFG = OtlpConfig()


def test_the_join_holds_when_the_pair_reaches_two_replicas_at_once(services: Services, settings: Settings) -> None:
    other = build_services(settings)
    rounds = 8
    errors: list[BaseException] = []
    try:
        for n in range(rounds):
            retrieval = {**retriever_attributes(), "afterlaunch.tenant": "acme"}

            def build(t: Tracer, n: int = n, retrieval: dict = retrieval) -> None:
                with t.start_as_current_span("answer"):
                    start = time.time_ns() - 60_000 * MS
                    t.start_span("kb.search", attributes=retrieval, start_time=start).end(end_time=start + 40 * MS)
                    chat_span(
                        t, {"gen_ai.response.id": f"call-{n}", "afterlaunch.tenant": "acme"}, start_ns=start + 50 * MS
                    )

            spans = record(build)
            parts = [[s for s in spans if s.name == "kb.search"], [s for s in spans if s.name.startswith("chat")]]
            barrier = threading.Barrier(2)

            def send(replica: Services, part: list, barrier: threading.Barrier = barrier) -> None:
                mapped = service.map_request(encode(part), CFG, key_tenant=None)
                barrier.wait()
                try:
                    service.store(
                        replica.db,
                        mapped,
                        cfg=CFG,
                        ingest_cfg=replica.ingest,
                        writer=Writer(None, None),
                        now=datetime.now(UTC),
                    )
                except BaseException as exc:
                    errors.append(exc)

            threads = [
                threading.Thread(target=send, args=(r, p)) for r, p in zip((services, other), parts, strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors
        with services.db.session() as session:
            for n in range(rounds):
                [(_row, body)] = request_store.get_request(session=session, request_id=f"call-{n}", tenants=None)
                assert body is not None and body.context is not None, f"call-{n} lost its context"
                assert orjson.loads(body.context) == expected_context()
    finally:
        other.close()
