"""The ``/latency`` chart: percentiles over time per path (top) and each path's share as a stacked area (bottom).

Drawn with Pillow like the cost chart: the command waits for it, and a plotting library's setup
would cost more than the two panels. Drawn at twice the size and halved, which smooths the lines.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from bot.latency.fold import Group

WIDTH, HEIGHT, SCALE = 820, 520, 2
LEFT, RIGHT, TOP, MID, BOTTOM = 70, 150, 30, 300, 40
GRID = (225, 225, 225)
INK = (40, 40, 40)
COLOURS = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (127, 127, 127),
]
MAX_PATHS = len(COLOURS)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size * SCALE)


def _ms_label(v: float) -> str:
    return f"{v / 1000:g} s" if v >= 1000 else f"{v:g} ms"


def render_chart(series: dict[str, dict[int, Group]], *, start: int, end: int, step: int, title: str) -> bytes:
    """PNG bytes: P50 (thin) and P95 (thick) per path on a log scale, then path shares stacked to 100%."""
    s = SCALE
    img = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(img)
    small, label = _font(10), _font(12)
    x0, x1 = LEFT * s, (WIDTH - RIGHT) * s
    top = (TOP * s, (MID - 20) * s)
    bottom = ((MID + 10) * s, (HEIGHT - BOTTOM) * s)
    paths = sorted(series, key=lambda p: -sum(g.requests for g in series[p].values()))[:MAX_PATHS]
    slots = list(range(start, end, step))
    span = max(1, end - start)

    def px(t: float) -> float:
        return x0 + (x1 - x0) * (t + step / 2 - start) / span

    values = [g.percentile(q) for p in paths for g in series[p].values() for q in (0.5, 0.95)]
    values = [v for v in values if v]
    lo = 10 ** math.floor(math.log10(min(values))) if values else 10.0
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 1000.0
    hi = max(hi, lo * 10)

    def py(v: float) -> float:
        frac = (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return top[1] - (top[1] - top[0]) * frac

    decade = lo
    while decade <= hi:
        for m in (1, 2, 5):
            v = decade * m
            if v <= hi:
                draw.line([(x0, py(v)), (x1, py(v))], fill=GRID, width=s)
                draw.text((x0 - 5 * s, py(v)), _ms_label(v), fill=INK, font=small, anchor="rm")
        decade *= 10
    for i, path in enumerate(paths):
        colour = COLOURS[i]
        for q, width in ((0.5, 1), (0.95, 3)):
            pts = [(px(t), py(v)) for t in slots if (g := series[path].get(t)) and (v := g.percentile(q))]
            if len(pts) > 1:
                draw.line(pts, fill=colour, width=width * s, joint="curve")
            elif pts:
                x, y = pts[0]
                draw.ellipse([x - 3 * s, y - 3 * s, x + 3 * s, y + 3 * s], fill=colour)
    draw.rectangle([x0, top[0], x1, top[1]], outline=INK, width=s)
    draw.text(((x0 + x1) / 2, top[0] / 2), title[:90], fill=INK, font=label, anchor="mm")

    def sy(frac: float) -> float:
        return bottom[1] - (bottom[1] - bottom[0]) * frac

    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        draw.line([(x0, sy(frac)), (x1, sy(frac))], fill=GRID, width=s)
        draw.text((x0 - 5 * s, sy(frac)), f"{frac:.0%}", fill=INK, font=small, anchor="rm")
    totals = {t: sum(series[p][t].requests for p in series if t in series[p]) for t in slots}
    below = dict.fromkeys(slots, 0.0)
    for i, path in enumerate(paths):
        upper = {
            t: below[t] + (series[path][t].requests / totals[t] if totals[t] and t in series[path] else 0.0)
            for t in slots
        }
        live = [t for t in slots if totals[t]]
        if live:
            poly = [(px(t), sy(upper[t])) for t in live] + [(px(t), sy(below[t])) for t in reversed(live)]
            draw.polygon(poly, fill=COLOURS[i])
        below = upper
    draw.rectangle([x0, bottom[0], x1, bottom[1]], outline=INK, width=s)
    fmt = "%m-%d" if step >= 86400 else "%m-%d %H:%M"
    for t in (start, (start + end) // 2, end):
        draw.text(
            (x0 + (x1 - x0) * (t - start) / span, bottom[1] + 6 * s),
            datetime.fromtimestamp(t, UTC).strftime(fmt),
            fill=INK,
            font=small,
            anchor="mt",
        )
    lx, ly = x1 + 12 * s, top[0]
    draw.text((lx, ly), "thick P95, thin P50", fill=INK, font=small)
    for i, path in enumerate(paths):
        y = ly + (18 + 16 * i) * s
        draw.rectangle([lx, y, lx + 14 * s, y + 10 * s], fill=COLOURS[i])
        draw.text((lx + 20 * s, y + 5 * s), path[:18] or "(none)", fill=INK, font=small, anchor="lm")
    draw.text((lx, bottom[0]), "share of requests", fill=INK, font=small)
    out = io.BytesIO()
    img.reduce(s).save(out, format="PNG", compress_level=1)
    return out.getvalue()
