"""The App Home's latency section: each budget against the last hour, broken ones first."""

from __future__ import annotations

from bot.cards.blocks import Card
from bot.latency.home import budgets_section
from bot.latency.world import FALLBACK, World
from bot.services import Services
from bot.slack.home import sections
from tests.latency.helpers import T0, configure, write_rows

END = int(T0.timestamp())


def test_the_home_lists_budgets_broken_first(services: Services) -> None:
    configure(
        services,
        fallback_paths=[FALLBACK],
        budgets=[
            {"intent": "order_status", "p95_ms": 60_000},
            {"intent": "billing_question", "path": FALLBACK, "p50_ms": 1000},
            {"intent": "nobody_asks_this", "p95_ms": 100},
        ],
    )
    write_rows(services, World().rows(END - 2 * 3600, END))
    blocks = budgets_section(services, T0)
    assert blocks[0]["text"]["text"] == "Latency budgets (last hour)"
    lines = [line for line in blocks[1]["text"]["text"].splitlines() if line.startswith("•")]
    assert lines[0].startswith("• :red_circle: intent=billing_question path=deep_rag: P50")
    assert ":large_green_circle: intent=order_status" in lines[1]
    assert "(no requests)" in lines[2]
    assert Card(text="home", blocks=blocks).problems() == []
    assert budgets_section in sections()


def test_no_budgets_no_section(services: Services) -> None:
    configure(services)
    assert budgets_section(services, T0) == []
