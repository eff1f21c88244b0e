"""The /evals trend chart: weekly pass rates per intent (production solid, offline dashed), drawn with Pillow.

Pillow rather than matplotlib for the same reason as the cost chart: /evals waits for it, and a few
lines over a dozen weeks do not need a figure's layout machinery.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT, SCALE = 800, 360, 2
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 34, 48
GRID = (225, 225, 225)
INK = (40, 40, 40)
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (140, 86, 75)]


@dataclass(frozen=True)
class Series:
    """One line: a rate (0-1) or None per week, oldest first."""

    label: str
    points: Sequence[float | None]
    dashed: bool = False


def render_trend(series: Sequence[Series], week_labels: Sequence[str], *, title: str) -> bytes:
    """PNG bytes of the weekly rates; a week without data leaves a gap rather than a false zero."""
    s = SCALE
    img = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(img)
    x0, x1, y0, y1 = LEFT * s, (WIDTH - RIGHT) * s, TOP * s, (HEIGHT - BOTTOM) * s
    weeks = max(1, len(week_labels))

    def px(i: int) -> float:
        return x0 + (x1 - x0) * (i + 0.5) / weeks

    def py(v: float) -> float:
        return y1 - (y1 - y0) * v

    small = _font(11)
    for pct in range(0, 101, 20):
        draw.line([(x0, py(pct / 100)), (x1, py(pct / 100))], fill=GRID, width=s)
        draw.text((x0 - 6 * s, py(pct / 100)), f"{pct}%", fill=INK, font=small, anchor="rm")
    step = max(1, weeks // 8)
    for i, label in enumerate(week_labels):
        if i % step == 0 or i == weeks - 1:
            draw.text((px(i), y1 + 7 * s), label, fill=INK, font=small, anchor="mt")
    draw.rectangle([x0, y0, x1, y1], outline=INK, width=s)
    legend = []
    for n, line in enumerate(series[: len(COLOURS) * 2]):
        colour = COLOURS[(n // 2 if any(x.dashed for x in series) else n) % len(COLOURS)]
        run: list[tuple[float, float]] = []
        for i, v in enumerate([*line.points, None]):
            if v is None:
                _stroke(draw, run, colour, line.dashed)
                run = []
            else:
                run.append((px(i), py(v)))
                box = [px(i) - 3 * s, py(v) - 3 * s, px(i) + 3 * s, py(v) + 3 * s]
                if line.dashed:  # offline: a hollow point, so a lone week still tells the two apart
                    draw.ellipse(box, fill="white", outline=colour, width=s)
                else:
                    draw.ellipse(box, fill=colour)
        legend.append((line.label[:40], colour, line.dashed))
    draw.text(((x0 + x1) / 2, y0 / 2), title[:90], fill=INK, font=_font(12), anchor="mm")
    if legend:
        _legend(draw, x0 + 10 * s, y0 + 10 * s, legend[:8])
    _y_label(img, "pass / positive", x=6 * s, mid=(y0 + y1) // 2)
    out = io.BytesIO()
    img.reduce(s).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _stroke(
    draw: ImageDraw.ImageDraw, run: list[tuple[float, float]], colour: tuple[int, int, int], dashed: bool
) -> None:
    for a, b in itertools.pairwise(run):
        if dashed:
            _dashed(draw, a, b, fill=colour, width=2 * SCALE, dash=6 * SCALE)
        else:
            draw.line([a, b], fill=colour, width=3 * SCALE)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size * SCALE)


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
    s, font, row = SCALE, _font(10), 16 * SCALE
    widest = max(draw.textlength(name, font=font) for name, _, _ in items)
    draw.rectangle([x, y, x + 40 * s + widest, y + row * len(items) + 6 * s], fill="white", outline=GRID, width=s)
    for i, (name, colour, dashed) in enumerate(items):
        cy = y + 3 * s + row * i + row // 2
        if dashed:
            _dashed(draw, (x + 6 * s, cy), (x + 30 * s, cy), fill=colour, width=2 * s, dash=6 * s)
        else:
            draw.line([(x + 6 * s, cy), (x + 30 * s, cy)], fill=colour, width=3 * s)
        draw.text((x + 36 * s, cy), name, fill=INK, font=font, anchor="lm")


def _y_label(img: Image.Image, text: str, *, x: int, mid: int) -> None:
    font = _font(11)
    box = font.getbbox(text)
    tile = Image.new("RGB", (int(box[2]) + 4, int(box[3]) + 4), "white")
    ImageDraw.Draw(tile).text((2, 2), text, fill=INK, font=font)
    tile = tile.rotate(90, expand=True)
    img.paste(tile, (x, mid - tile.height // 2))
