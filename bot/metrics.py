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

# Product metrics: what the AI feature does, per tenant, category and path. Label values come
# from traffic, so each label keeps at most MAX_LABEL_VALUES distinct values per process and
# folds the rest into "other": a tenant storm cannot blow up Prometheus.
MAX_LABEL_VALUES = 50
LLM_COST = Counter(
    "afterlaunch_llm_cost_usd_total", "Spend of the AI feature's LLM requests, by tenant", ["tenant"], registry=REGISTRY
)
LLM_REQUESTS = Counter(
    "afterlaunch_llm_requests_total",
    "LLM requests stored, by category and whether they were refusals",
    ["category", "refused"],
    registry=REGISTRY,
)
LLM_LATENCY = Histogram(
    "afterlaunch_llm_latency_seconds",
    "Latency of the AI feature's LLM requests, by path",
    ["path"],
    buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
    registry=REGISTRY,
)


class BoundedLabels:
    """The first ``limit`` values of a label as they are; every later one as 'other'."""

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        value = value or "(none)"
        if value in self.seen:
            return value
        if len(self.seen) >= self.limit:
            return "other"
        self.seen.add(value)
        return value


_TENANTS, _CATEGORIES, _PATHS = BoundedLabels(), BoundedLabels(), BoundedLabels()


def observe_stored(rows: list[dict[str, object]]) -> None:
    """Product metrics for newly stored request rows (aggregated per batch: one call per label value)."""
    cost: dict[str, float] = {}
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        tenant = _TENANTS(str(row["tenant"]))
        cost[tenant] = cost.get(tenant, 0.0) + float(row["cost_usd"] or 0.0)  # type: ignore[arg-type]
        key = (_CATEGORIES(str(row["category"])), "true" if row["refused"] else "false")
        counts[key] = counts.get(key, 0) + 1
        if row["latency_ms"] is not None:
            LLM_LATENCY.labels(_PATHS(str(row["path"]))).observe(float(row["latency_ms"]) / 1000)  # type: ignore[arg-type]
    for tenant, usd in cost.items():
        LLM_COST.labels(tenant).inc(usd)
    for (category, refused), n in counts.items():
        LLM_REQUESTS.labels(category, refused).inc(n)
