"""A small logged corpus for triage tests: demo traffic plus targets whose answers only numbers tell apart."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.demo.traffic import make_event
from bot.ingest.service import Writer, ingest
from bot.services import Services

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TEMPLATE = (
    "Your refund of {amount} for order {order} was approved on the {day}th. Under the Galactic Refund Policy "
    "the money reaches the original card within {days} business days, and a complimentary pet llama ships from "
    "warehouse {wh}. Please note that llamas cannot be returned once they have been named."
)
QUESTION = "Where is my refund for order {order}?"


def weird_event(rng: random.Random, index: int, *, tenant: str, ts: datetime) -> dict[str, Any]:
    """An answer from the shared 'llama' template; numbers vary, so each row is pinned down by its text."""
    event = make_event(rng, ts, tenant=tenant)
    values = {
        "amount": f"${rng.randint(10, 99)}.{rng.randint(0, 99):02d}",
        "order": f"A{rng.randint(10000, 99999)}",
        "day": rng.randint(1, 28),
        "days": rng.randint(3, 9),
        "wh": rng.randint(100, 999),
    }
    event["request_id"] = f"req_llama{index:04d}x{rng.randint(1000, 9999)}"
    event["response"] = TEMPLATE.format(**values)
    event["status"] = "ok"
    event["prompt"]["messages"][-1]["content"] = QUESTION.format(order=values["order"])
    event["prompt_version"] = "support-v13"
    event["model"] = event["model_requested"] = "gpt-4o-mini"
    event["output_tokens"] = 90
    return event


def corpus(
    *, background: int = 300, llamas: int = 40, seed: int = 5
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(background traffic, llama answers for acme and globex), the same for every call with the same seed."""
    rng = random.Random(seed)
    events = [make_event(rng, NOW - timedelta(minutes=5 * i + 1)) for i in range(background)]
    weird = [
        weird_event(rng, i, tenant="acme" if i % 2 else "globex", ts=NOW - timedelta(hours=2, minutes=7 * i))
        for i in range(llamas)
    ]
    return events, weird


def build(services: Services, **kwargs: Any) -> list[dict[str, Any]]:
    """Ingest background traffic plus llama answers; returns the llama events."""
    events, weird = corpus(**kwargs)
    ingest(services.db, events + weird, cfg=services.ingest, writer=Writer(None, None), now=NOW)
    return weird
