"""The burn chart: a PNG of the cumulative spend, with the budget pace only when a budget applies."""

from __future__ import annotations

import io

from PIL import Image

from bot.cost.chart import HEIGHT, PACE, SPEND, WIDTH, render_chart

START = 1_790_000_000


def _pixels_near(png: bytes, color: tuple[int, int, int], tolerance: int = 40) -> int:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size == (WIDTH, HEIGHT)
    raw = img.tobytes()
    pixels = (raw[i : i + 3] for i in range(0, len(raw), 3))
    return sum(1 for px in pixels if all(abs(a - b) <= tolerance for a, b in zip(px, color, strict=True)))


def test_chart_draws_spend_and_the_budget_pace_line() -> None:
    series = [(START + i * 3600, 1.0 + i % 3) for i in range(24)]
    with_budget = render_chart(series, start=START, end=START + 86400, pace_per_s=60 / 86400, title="Spend, last 24h")
    assert with_budget.startswith(b"\x89PNG")
    assert _pixels_near(with_budget, SPEND) > 500
    assert _pixels_near(with_budget, PACE) > 200

    without = render_chart(series, start=START, end=START + 86400, pace_per_s=None, title="Spend, last 24h")
    assert _pixels_near(without, SPEND) > 500
    assert _pixels_near(without, PACE) == 0


def test_chart_of_an_empty_window_still_renders() -> None:
    png = render_chart([], start=START, end=START + 3600, pace_per_s=None, title="Spend, tenant=x, last 1h")
    assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
