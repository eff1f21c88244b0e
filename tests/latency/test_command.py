"""``/latency`` through its plain handler: percentiles against exact values, budgets, names, arguments."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from bot.errors import UserError
from bot.latency.command import handle, parse
from bot.latency.fold import provider_of
from bot.latency.world import row
from bot.scope import ALL_TENANTS
from bot.services import Services
from bot.slack.registry import CommandRequest
from tests.latency.helpers import T0, configure, write_rows

NOW = T0


def _exact(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[math.floor(q * (len(s) - 1))]


def _traffic(seed: int = 3) -> list[dict]:
    """Two days of requests over tenants, intents, paths and two models with very different latencies."""
    rng = random.Random(seed)
    out = []
    start = int((NOW - timedelta(days=2)).timestamp())
    medians = {"fast": 300.0, "cached": 90.0, "deep_rag": 2500.0}
    for _ in range(12_000):
        path = rng.choice(["fast", "fast", "cached", "deep_rag"])
        out.append(
            row(
                ts_ms=(start + rng.randrange(2 * 86400 - 120)) * 1000,
                tenant=rng.choice(["acme", "globex", "initech"]),
                intent=rng.choice(["billing_question", "order_status"]),
                path=path,
                latency_ms=medians[path] * math.exp(rng.gauss(0, 0.6)),
                model=rng.choice(["gpt-4o-mini", "claude-3-5-haiku"]),
            )
        )
    return out


def _ask(services: Services, text: str):
    return handle(services, CommandRequest("/latency", text, "U0TEST001", "C0TEST001", NOW, scope=ALL_TENANTS))


@pytest.mark.parametrize(
    ("text", "dim", "scope"),
    [
        ("24h by path", "path", {}),
        ("by intent 7d", "intent", {}),
        ("7d by tenant", "tenant", {}),
        ("by model 7d", "model", {}),
        ("7d by provider", "provider", {}),
        ("billing_question 7d", "path", {"intent": "billing_question"}),
        ("by tenant deep_rag 7d", "tenant", {"path": "deep_rag"}),
    ],
)
def test_percentiles_are_within_1_percent_of_exact_at_every_grouping(
    services: Services, text: str, dim: str, scope: dict[str, str]
) -> None:
    rows = _traffic()
    write_rows(services, rows)
    reply = _ask(services, text)
    shown = reply.card.blocks[2]["text"]["text"]
    groups: dict[str, list[float]] = {}
    for r in rows:
        if all(r[k] == v for k, v in scope.items()):
            key = provider_of(r["model"]) if dim == "provider" else r[dim]
            groups.setdefault(key, []).append(r["latency_ms"])
    from bot.latency.report import build_report

    end = int(NOW.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        report = build_report(
            session=session, cfg=services.settings.file.latency, window="7d", dim=dim, scope=scope, end=end
        )
    assert {r.name for r in report.rows} == set(groups)
    for r in report.rows:
        values = groups[r.name]
        assert r.requests == len(values)
        for q, got in ((0.5, r.p50), (0.95, r.p95), (0.99, r.p99)):
            want = _exact(values, q)
            assert got is not None and abs(got - want) / want <= 0.01, (r.name, q, got, want)
        assert f"`{r.name}`" in shown
    overall = [v for vs in groups.values() for v in vs]
    for q in (0.5, 0.95, 0.99):
        assert abs(report.total.percentile(q) - _exact(overall, q)) / _exact(overall, q) <= 0.01
    assert reply.uploads and reply.uploads[0].content[:8] == b"\x89PNG\r\n\x1a\n"
    assert reply.card.problems() == []


def test_budgets_per_intent_and_per_path_show_their_state(services: Services) -> None:
    configure(
        services,
        fallback_paths=["deep_rag"],
        budgets=[
            {"intent": "billing_question", "p95_ms": 60_000},
            {"intent": "billing_question", "path": "deep_rag", "p50_ms": 500, "p95_ms": 4000},
            {"intent": "billing_question", "path": "cached", "p95_ms": 10_000},
        ],
    )
    write_rows(services, _traffic())
    text = str(_ask(services, "billing_question 7d").card.blocks)
    assert "intent=billing_question path=deep_rag: P50" in text
    assert "`deep_rag` " in text and "over budget" in text  # deep_rag's median (~2.5 s) is over 500 ms
    assert "within budget" in text  # cached keeps its 10 s P95
    from bot.latency.report import build_report

    end = int(NOW.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        report = build_report(
            session=session,
            cfg=services.settings.file.latency,
            window="7d",
            dim="path",
            scope={"intent": "billing_question"},
            end=end,
        )
    states = {st.budget.describe(): st.over for st in report.budgets}
    assert states == {
        "intent=billing_question": False,
        "intent=billing_question path=deep_rag": True,
        "intent=billing_question path=cached": False,
    }


def test_an_unknown_name_is_refused_with_the_known_ones(services: Services) -> None:
    write_rows(services, _traffic())
    with pytest.raises(UserError) as err:
        _ask(services, "biling_question")
    msg = err.value.message
    assert "biling_question" in msg and "billing_question" in msg and "deep_rag" in msg


def test_names_match_case_insensitively_and_args_come_in_any_order(services: Services) -> None:
    write_rows(services, _traffic())
    reply = _ask(services, "by tenant 7d BILLING_QUESTION")
    assert "intent=billing_question" in reply.card.blocks[0]["text"]["text"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [("by", "'by' needs"), ("by colour", "'colour' is not a grouping"), ("a b", "'b' is not understood")],
)
def test_bad_arguments_say_what_was_wrong(text: str, needle: str) -> None:
    with pytest.raises(UserError) as err:
        parse(text)
    assert needle in err.value.message and "Usage" in err.value.message


def test_who_lives_in_the_tail(services: Services) -> None:
    """One tenant whose every request takes seconds: its median is above everyone's P95."""
    rows = _traffic()
    for i, r in enumerate(rows):
        if r["tenant"] == "initech" and r["intent"] == "order_status" and i % 8 == 0:  # about 1% of traffic
            r["tenant"] = "slowcorp"
            r["latency_ms"] = 60_000.0
    write_rows(services, rows)
    text = _ask(services, "7d").card.blocks[3]["text"]["text"]
    assert "tenant `slowcorp`" in text
    assert "tenant `acme`" not in text


def test_ttft_p95_shows_when_events_carry_it_and_budgets_check_it(services: Services) -> None:
    configure(services, budgets=[{"intent": "billing_question", "ttft_p95_ms": 100}])
    rows = _traffic()
    rng = random.Random(4)
    for r in rows:
        if r["intent"] == "billing_question":
            r["ttft_ms"] = 180 * math.exp(rng.gauss(0, 0.5))
    write_rows(services, rows)
    from bot.latency.report import build_report

    end = int(NOW.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        report = build_report(
            session=session, cfg=services.settings.file.latency, window="7d", dim="intent", scope={}, end=end
        )
    by_name = {r.name: r for r in report.rows}
    want = _exact([r["ttft_ms"] for r in rows if r["intent"] == "billing_question"], 0.95)
    assert abs(by_name["billing_question"].ttft_p95 - want) / want <= 0.01
    assert by_name["order_status"].ttft_p95 is None  # no event of it reports a first token
    (state,) = report.budgets
    assert state.checks[0][0] == "TTFT P95" and state.over
    text = str(_ask(services, "by intent 7d").card.blocks)
    assert "TTFT P95" in text and "time to first token P95" in text
