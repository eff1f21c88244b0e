from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from bot.ingest.pricing import PriceTable
from bot.ingest.service import IngestConfig, Writer, ingest, to_rows, validate_batch
from storage.engine import Database
from tests.ingest.factory import NOW, event

REQUIRED = ["request_id", "timestamp", "tenant", "prompt_version", "model"]
ANYONE = Writer(key_id=None, tenant=None)


@pytest.mark.parametrize("field", REQUIRED)
def test_each_required_field_missing_is_named(field: str) -> None:
    good, result = validate_batch([event(**{field: ...})], writer=ANYONE, now=NOW)
    assert good == []
    assert result.rejected == 1
    assert [(e.index, e.field, e.message) for e in result.errors] == [(0, f"events[0].{field}", "is required")]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"input_tokens": "12"}, "events[0].input_tokens"),
        ({"input_tokens": -1}, "events[0].input_tokens"),
        ({"tenant": 42}, "events[0].tenant"),
        ({"refused": "yes"}, "events[0].refused"),
        ({"status": "maybe"}, "events[0].status"),
        ({"labels": {"team": 3}}, "events[0].labels.team"),
        ({"prompt": {"messages": [{"role": "user"}]}}, "events[0].prompt.messages[0].content"),
        ({"context": [{"text": "no id"}]}, "events[0].context[0].doc_id"),
        (
            {"prompt": {"messages": [{"role": "user", "content": "hi", "name": "x"}]}},
            "events[0].prompt.messages[0].name",
        ),
        ({"prompt": "Why was I charged twice?"}, "events[0].prompt"),
        ({"context": [{"doc_id": "kb-1"}] * 201}, "events[0].context"),
        ({"client_ip": "not-an-ip"}, "events[0].client_ip"),
        ({"cost_usd": -0.5}, "events[0].cost_usd"),
        ({"misspelt_field": 1}, "events[0].misspelt_field"),
    ],
)
def test_wrong_types_are_rejected_with_their_path(overrides: dict, field: str) -> None:
    good, result = validate_batch([event(**overrides)], writer=ANYONE, now=NOW)
    assert good == []
    assert field in [e.field for e in result.errors]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2026-11-26T11:00:00", "time zone"),
        ("yesterday at noon", "RFC 3339"),
        ("2026-11-26", "date"),
        ("2026-13-45T10:00:00Z", "RFC 3339"),
        (1764158400, "RFC 3339"),
        ((NOW + timedelta(hours=3)).isoformat(), "future"),
    ],
)
def test_bad_timestamps(value: object, fragment: str) -> None:
    _, result = validate_batch([event(timestamp=value)], writer=ANYONE, now=NOW)
    assert result.rejected == 1
    assert result.errors[0].field == "events[0].timestamp"
    assert fragment in result.errors[0].message


def test_timestamp_offsets_are_normalised_to_utc() -> None:
    good, _ = validate_batch([event(timestamp="2026-11-26T13:00:00+02:00")], writer=ANYONE, now=NOW)
    assert good[0][0].timestamp.isoformat() == "2026-11-26T11:00:00+00:00"


def test_one_bad_event_leaves_the_others_as_they_validate_alone() -> None:
    # A clean batch is validated in one call; a batch with an error in it event by event.
    events = [event(), event(intent="account"), event(latency_ms=None), event(tenant="globex")]
    clean, clean_result = validate_batch(events, writer=ANYONE, now=NOW)
    mixed, mixed_result = validate_batch([*events[:2], event(model=""), *events[2:]], writer=ANYONE, now=NOW)
    assert clean_result.errors == []
    assert [(e.index, e.field) for e in mixed_result.errors] == [(2, "events[2].model")]
    assert [(e.model_dump(), raw) for e, raw in mixed] == [(e.model_dump(), raw) for e, raw in clean]
    assert [raw for _, raw in clean] == events


def test_a_batch_can_be_any_sequence() -> None:
    good, result = validate_batch((event(), event()), writer=ANYONE, now=NOW)
    assert len(good) == 2
    assert result.errors == []


def test_prompt_and_context_are_checked_then_stored_as_sent() -> None:
    sent = event(context=[{"doc_id": " kb-1 ", "text": "Upgrades are prorated."}])
    [(validated, raw)] = validate_batch([sent], writer=ANYONE, now=NOW)[0]
    assert validated.prompt == sent["prompt"]
    assert validated.context == sent["context"]
    cfg = IngestConfig(prices=PriceTable.load(), secret_key=b"k")
    _, body = to_rows(validated, raw, cfg, writer=ANYONE, received_ms=0)
    assert orjson.loads(body["prompt"]) == sent["prompt"]
    assert orjson.loads(body["context"]) == sent["context"]


def test_cached_tokens_cannot_exceed_input() -> None:
    _, result = validate_batch([event(input_tokens=10, cached_tokens=20)], writer=ANYONE, now=NOW)
    assert "cached_tokens" in result.errors[0].message


def test_duplicate_inside_one_batch_counts_once() -> None:
    e = event()
    good, result = validate_batch([e, dict(e)], writer=ANYONE, now=NOW)
    assert len(good) == 1
    assert result.duplicates == 1


def test_tenant_bound_writer_cannot_write_other_tenant() -> None:
    good, result = validate_batch(
        [event(tenant="acme"), event(tenant="globex")], writer=Writer(key_id=1, tenant="acme"), now=NOW
    )
    assert [e.tenant for e, _ in good] == ["acme"]
    assert result.errors[0].index == 1
    assert "only write tenant 'acme'" in result.errors[0].message


def test_price_table_matches_snapshots_and_refuses_unknown() -> None:
    prices = PriceTable.load()
    assert prices.price_of("gpt-4o-mini-2024-07-18") == prices.price_of("gpt-4o-mini")
    assert prices.price_of("gpt-4o-mini") != prices.price_of("gpt-4o")
    assert prices.price_of("openai/gpt-4o") == prices.price_of("gpt-4o")
    assert prices.price_of("in-house-llm-7b") is None
    assert prices.price_of("gpt-4o-minimal") is None  # a prefix alone is not a snapshot


def test_cost_from_price_table_and_unknown_model(db: Database) -> None:
    cfg = IngestConfig(prices=PriceTable.load(), secret_key=b"k")
    known = event(model="gpt-4o", input_tokens=1_000_000, cached_tokens=400_000, output_tokens=100_000)
    unknown = event(model="in-house-llm-7b")
    client = event(model="in-house-llm-7b", cost_usd=0.25)
    result = ingest(db, [known, unknown, client], cfg=cfg, writer=ANYONE, now=NOW)
    assert result.accepted == 3
    from sqlmodel import select

    from storage.models import LLMRequest

    with db.session() as s:
        rows = {r.request_id: r for r in s.exec(select(LLMRequest))}
    # 600k fresh input at $2.50/M + 400k cached at $1.25/M + 100k output at $10/M
    assert rows[known["request_id"]].cost_usd == pytest.approx(1.5 + 0.5 + 1.0)
    assert rows[known["request_id"]].cost_source == "price_table"
    assert rows[unknown["request_id"]].cost_usd is None
    assert rows[unknown["request_id"]].cost_source == "unknown"
    assert rows[client["request_id"]].cost_usd == pytest.approx(0.25)
    assert rows[client["request_id"]].cost_source == "client"


def test_price_overrides_from_config() -> None:
    from bot.config import PriceOverride

    prices = PriceTable.load({"in-house-llm-7b": PriceOverride(input=0.1, output=0.2)})
    price = prices.price_of("in-house-llm-7b-2026-01")
    assert price is not None
    assert price.cost(1_000_000, 1_000_000, 0) == pytest.approx(0.3)
    assert price.cached == 0.1  # no cached price given: cached tokens cost the input price
