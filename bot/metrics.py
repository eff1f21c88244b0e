"""The bot's own Prometheus metrics, on a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "afterlaunch_events_total", "Events received on the event API, by outcome", ["outcome"], registry=REGISTRY
)
INGEST_SECONDS = Histogram(
    "afterlaunch_ingest_batch_seconds",
    "Time to validate and store one event batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
TEXT_INDEXED = Counter("afterlaunch_text_indexed_total", "Answers added to the SQLite text index", registry=REGISTRY)
HTTP_ERRORS = Counter("afterlaunch_http_errors_total", "API requests refused, by code", ["code"], registry=REGISTRY)
JOB_RUNS = Counter(
    "afterlaunch_job_runs_total",
    "Scheduled job runs, by job and outcome",
    ["job", "outcome"],
    registry=REGISTRY,
)
OUTBOX = Counter("afterlaunch_outbox_total", "Outbox deliveries, by outcome", ["outcome"], registry=REGISTRY)
