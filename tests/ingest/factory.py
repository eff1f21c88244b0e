"""Minimal valid events, changed field by field in tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

_counter = itertools.count(1)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def event(**overrides: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "request_id": f"req_test{next(_counter):08d}",
        "timestamp": (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "tenant": "acme",
        "prompt_version": "support-v12",
        "model": "gpt-4o-mini",
        "intent": "billing",
        "input_tokens": 1000,
        "output_tokens": 200,
        "latency_ms": 850.0,
        "prompt": {"system": "You are helpful.", "messages": [{"role": "user", "content": "Why was I charged twice?"}]},
        "context": [{"doc_id": "kb-1", "source": "help", "text": "Upgrades are prorated.", "score": 0.8}],
        "response": "A second charge usually means a prorated upgrade.",
    }
    e.update(overrides)
    return {k: v for k, v in e.items() if v is not ...}
