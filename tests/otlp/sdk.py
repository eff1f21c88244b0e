"""Tracer providers wired to afterlaunch the way an application would wire them."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

DOCS = [
    ("kb-12", "Upgrades mid-cycle are prorated and billed at once.", 0.82),
    ("kb-40", "Refunds take 5 to 10 business days.", 0.41),
]


def provider_to(
    url: str, key: str, resource: dict[str, str], *, gzip: bool = False
) -> tuple[TracerProvider, InMemorySpanExporter]:
    """Spans exported one by one (each its own export request) over OTLP protobuf, and kept in memory."""
    provider = TracerProvider(resource=Resource.create({"service.name": "assistant", **resource}))
    exporter = OTLPSpanExporter(
        endpoint=url,
        headers={"Authorization": f"Bearer {key}"},
        compression=Compression.Gzip if gzip else Compression.NoCompression,
        timeout=10,
    )
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def retriever_attributes() -> dict[str, object]:
    """A hand-written retrieval span in OpenInference's RETRIEVER shape."""
    attrs: dict[str, object] = {"openinference.span.kind": "RETRIEVER", "input.value": "charged twice"}
    for n, (doc_id, text, score) in enumerate(DOCS):
        attrs[f"retrieval.documents.{n}.document.id"] = doc_id
        attrs[f"retrieval.documents.{n}.document.content"] = text
        attrs[f"retrieval.documents.{n}.document.score"] = score
    return attrs


def expected_context() -> list[dict[str, object]]:
    return [{"doc_id": d, "text": t, "score": s} for d, t, s in DOCS]
