"""The card of /refusals: rates against baseline per cohort, model changes, deciding rules, open shifts, a chart."""

from __future__ import annotations

from typing import Any

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import HEADER_TEXT, SECTION_TEXT, truncate_text
from bot.cards.text import render
from bot.refusals.chart import Line, Marker, render_png
from bot.slack.registry import Upload


def report_card(view: dict[str, Any], lines: list[Line], *, baseline: float | None) -> tuple[Card, Upload]:
    """The card for one /refusals query, and its chart (one line per top cohort, model changes marked)."""
    query = view["query"]
    text = render("refusals_command.md.j2", **view)
    title = f"Refusals · {query.category or 'all categories'} · {query.window} by {query.by}"
    card = Card(
        text=title,
        blocks=[
            b.header(truncate_text(title, HEADER_TEXT)),
            *sections(text),
            b.context("Chart attached below."),
        ],
    )
    png = render_png(title, lines, [Marker(m["at"], m["label"]) for m in view["markers"]], baseline=baseline)
    slug = (query.category or "all").replace("/", "_")[:40]
    return card, Upload(filename=f"refusals-{slug}-{query.window}.png", content=png, title=title)


def sections(text: str) -> list[dict[str, object]]:
    """Split long text into sections at line ends, so long names shorten one line rather than the card's tail."""
    chunks: list[str] = []
    for line in text.splitlines():
        line = truncate_text(line, SECTION_TEXT)
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_TEXT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return [b.section(chunk) for chunk in chunks if chunk.strip()]
