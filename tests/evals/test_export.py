"""The JSONL export: one line per label with the triple, within body retention, never an opted-out tenant."""

from __future__ import annotations

import io
from datetime import timedelta

import orjson

from bot.evals import signals
from bot.evals.export import KEYS, iter_export, parse_since, write_jsonl
from bot.services import Services
from tests.evals.helpers import T0, event, log_requests, make_key


def _export(services: Services, **kw: object) -> list[dict]:
    out = io.BytesIO()
    with services.db.session() as session:
        args = {"now": T0, "since": timedelta(weeks=4), "body_retention": timedelta(days=30), "excluded": []}
        write_jsonl(iter_export(session, **{**args, **kw}), out)
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_export_lines_load_back_with_the_documented_keys(services: Services) -> None:
    log_requests(services, [event("r1", T0 - timedelta(days=2)), event("r2", T0 - timedelta(days=2), intent="refunds")])
    log_requests(services, [event("old", T0 - timedelta(days=40))])
    log_requests(services, [event("g1", T0 - timedelta(days=1), tenant="globex")])
    key = make_key(services)
    labels = [
        {"request_id": "r1", "label": "fail", "labeller": "ann", "category": "hallucination", "note": "made up"},
        {"request_id": "r1", "label": "pass", "labeller": "bob"},
        {"request_id": "r2", "label": "fail", "labeller": "ann"},
        {"request_id": "old", "label": "fail", "labeller": "ann"},
        {"request_id": "g1", "label": "fail", "labeller": "ann", "tenant": "globex"},
    ]
    assert signals.store_labels(services, labels, key=key, now=T0).accepted == 5
    rows = _export(services, since=timedelta(weeks=12), excluded=["globex"])
    assert len(rows) == 4 and all(tuple(r) == KEYS for r in rows)
    first = rows[0]
    assert (first["request_id"], first["label"], first["category"], first["labeller"]) == (
        "r1",
        "fail",
        "hallucination",
        "ann",
    )
    assert first["prompt"]["messages"][0]["content"] == "question r1" and first["response"] == "answer to r1"
    old = next(r for r in rows if r["request_id"] == "old")
    assert old["prompt"] is None and old["response"] is None  # past the body retention
    assert not any(r["tenant"] == "globex" for r in rows)
    only = _export(services, intent="billing", label="fail", excluded=["globex"])
    assert [(r["request_id"], r["labeller"]) for r in only] == [("r1", "ann"), ("old", "ann")]


def test_since_spans_are_parsed_or_refused() -> None:
    import pytest

    from bot.errors import UserError

    assert parse_since("4w") == timedelta(weeks=4) and parse_since("30d") == timedelta(days=30)
    with pytest.raises(UserError, match="4w"):
        parse_since("a month")
