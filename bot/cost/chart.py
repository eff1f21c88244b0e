"""The burn chart: spend accumulating over the window against the budget's pace, as a PNG.

Drawn with Pillow rather than matplotlib: ``/cost`` waits for the chart, and a figure's tick
machinery and text layout cost about a hundred milliseconds for what is two lines and a few
labels. Everything is drawn at twice the size and halved at the end, which smooths the lines.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from functools import cache

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT, SCALE = 800, 360, 2
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 34, 58
SPEND = (31, 119, 180)
PACE = (214, 39, 40)
GRID = (225, 225, 225)
INK = (40, 40, 40)
TIME_STEPS = [m * 60 for m in (5, 10, 15, 30)] + [h * 3600 for h in (1, 2, 3, 6, 12, 24, 48, 96, 168)]


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size * SCALE)


def _nice_step(span: float, ticks: int = 5) -> float:
    """A 1, 2 or 5 times a power of ten step giving about ``ticks`` intervals over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _money(v: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{v:,.{decimals}f}"


def render_chart(
    series: list[tuple[int, float]], *, start: int, end: int, pace_per_s: float | None, title: str
) -> bytes:
    """Cumulative spend per bucket, with the budget pace line when a budget applies; PNG bytes."""
    s = SCALE
    img = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(img)
    x0, x1, y0, y1 = LEFT * s, (WIDTH - RIGHT) * s, TOP * s, (HEIGHT - BOTTOM) * s
    span_t = max(1, end - start)

    steps: list[tuple[int, float]] = [(start, 0.0)]
    total = 0.0
    for bucket, cost in series:
        total += cost
        steps.append((bucket, total))
    pace_total = pace_per_s * span_t if pace_per_s else 0.0
    top = max(total, pace_total)
    y_step = _nice_step(top or 1.0)
    y_max = math.ceil((top or 1.0) * 1.05 / y_step) * y_step

    def px(t: float) -> float:
        return x0 + (x1 - x0) * (t - start) / span_t

    def py(v: float) -> float:
        return y1 - (y1 - y0) * v / y_max

    small, label = _font(11), _font(12)
    for i in range(round(y_max / y_step) + 1):
        v = i * y_step
        draw.line([(x0, py(v)), (x1, py(v))], fill=GRID, width=s)
        draw.text((x0 - 6 * s, py(v)), _money(v, y_step), fill=INK, font=small, anchor="rm")
    t_step = next((st for st in TIME_STEPS if span_t / st <= 7), TIME_STEPS[-1])
    fmt = "%m-%d" if t_step >= 86400 else "%m-%d %H:%M"
    t = -(-start // t_step) * t_step
    while t <= end:
        draw.line([(px(t), y0), (px(t), y1)], fill=GRID, width=s)
        draw.line([(px(t), y1), (px(t), y1 + 4 * s)], fill=INK, width=s)
        draw.text((px(t), y1 + 7 * s), datetime.fromtimestamp(t, UTC).strftime(fmt), fill=INK, font=small, anchor="mt")
        t += t_step
    draw.rectangle([x0, y0, x1, y1], outline=INK, width=s)

    points = []
    last = 0.0
    for bucket, value in steps:
        points += [(px(bucket), py(last)), (px(bucket), py(value))]
        last = value
    points.append((px(end), py(last)))
    draw.line(points, fill=SPEND, width=3 * s, joint="curve")
    if pace_per_s:
        _dashed(draw, (px(start), py(0.0)), (px(end), py(pace_total)), fill=PACE, width=2 * s, dash=8 * s)

    draw.text(((x0 + x1) / 2, y0 / 2), title[:90], fill=INK, font=label, anchor="mm")
    legend = [("spend", SPEND, False)] + ([("budget pace", PACE, True)] if pace_per_s else [])
    _legend(draw, x0 + 10 * s, y0 + 10 * s, legend)
    _y_label(img, "USD (cumulative)", x=14 * s, mid=(y0 + y1) // 2)

    out = io.BytesIO()
    img.reduce(s).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _dashed(
    draw: ImageDraw.ImageDraw,
    a: tuple[float, float],
    b: tuple[float, float],
    *,
    fill: tuple[int, int, int],
    width: int,
    dash: int,
) -> None:
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    if length == 0:
        return
    dx, dy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    pos = 0.0
    while pos < length:
        stop = min(length, pos + dash)
        draw.line([(a[0] + dx * pos, a[1] + dy * pos), (a[0] + dx * stop, a[1] + dy * stop)], fill=fill, width=width)
        pos += 1.75 * dash


def _legend(draw: ImageDraw.ImageDraw, x: int, y: int, items: list[tuple[str, tuple[int, int, int], bool]]) -> None:
    s = SCALE
    font = _font(10)
    row = 16 * s
    widths = [draw.textlength(name, font=font) for name, _, _ in items]
    draw.rectangle([x, y, x + 40 * s + max(widths), y + row * len(items) + 6 * s], fill="white", outline=GRID, width=s)
    for i, (name, color, dashed) in enumerate(items):
        cy = y + 3 * s + row * i + row // 2
        if dashed:
            _dashed(draw, (x + 6 * s, cy), (x + 30 * s, cy), fill=color, width=2 * s, dash=6 * s)
        else:
            draw.line([(x + 6 * s, cy), (x + 30 * s, cy)], fill=color, width=3 * s)
        draw.text((x + 36 * s, cy), name, fill=INK, font=font, anchor="lm")


def _y_label(img: Image.Image, text: str, *, x: int, mid: int) -> None:
    font = _font(11)
    box = font.getbbox(text)
    tile = Image.new("RGB", (int(box[2]) + 4, int(box[3]) + 4), "white")
    ImageDraw.Draw(tile).text((2, 2), text, fill=INK, font=font)
    tile = tile.rotate(90, expand=True)
    img.paste(tile, (x, mid - tile.height // 2))
