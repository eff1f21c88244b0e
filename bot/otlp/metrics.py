"""Counters of the OTLP and LiteLLM endpoints, on the bot's own registry."""

from __future__ import annotations

from prometheus_client import Counter

from bot.metrics import REGISTRY

SPANS = Counter(
    "afterlaunch_otlp_spans_total",
    "Spans received over OTLP, by outcome (accepted, duplicate, rejected, retrieval, dropped)",
    ["outcome"],
    registry=REGISTRY,
)
UNKNOWN = Counter(
    "afterlaunch_otlp_unknown_total",
    "Model calls stored with 'unknown' because no configured attribute carried the field",
    ["field"],
    registry=REGISTRY,
)
LITELLM = Counter(
    "afterlaunch_litellm_logs_total", "LiteLLM log entries received, by outcome", ["outcome"], registry=REGISTRY
)
