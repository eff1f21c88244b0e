"""The /refusals chart: refusal rate over time per group, with a marker where each model snapshot appeared."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.dates as mdates
from matplotlib.figure import Figure

_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


@dataclass(frozen=True)
class Line:
    """One group's rate over time: (bucket start epoch seconds, requests, refusals) points."""

    label: str
    points: Sequence[tuple[int, int, int]]


@dataclass(frozen=True)
class Marker:
    """A vertical line at the moment a model snapshot was first seen."""

    at: datetime
    label: str


def render_png(title: str, lines: Sequence[Line], markers: Sequence[Marker], *, baseline: float | None) -> bytes:
    """Draw the chart as PNG bytes (Agg backend, no pyplot state, so it is safe in worker threads)."""
    fig = Figure(figsize=(8, 3.6), dpi=100)
    # Fixed margins rather than tight_layout/autofmt_xdate: each of those lays the figure out once more,
    # which would triple the drawing time of the reply.
    fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.12)
    ax = fig.add_subplot()
    for line in lines:
        xs = [datetime.fromtimestamp(t, UTC) for t, n, _ in line.points if n]
        ys = [100 * k / n for _, n, k in line.points if n]
        ax.plot(xs, ys, marker="o" if len(xs) < 40 else None, markersize=3, linewidth=1.5, label=line.label[:40])
    if baseline is not None:
        ax.axhline(100 * baseline, color="grey", linestyle=":", linewidth=1, label="7-day baseline")
    top = ax.get_ylim()[1]
    left, right = ax.get_xlim()
    last_label = None
    for marker in markers:
        x = mdates.date2num(marker.at)
        ax.axvline(marker.at, color="crimson", linestyle="--", linewidth=1)
        if last_label is not None and x - last_label < 0.04 * (right - left):
            continue  # snapshots appearing together: one label is readable, several on top of each other are not
        last_label = x
        ax.annotate(
            marker.label[:40], (x, top * 0.97), rotation=90, va="top", ha="right", fontsize=7, color="crimson",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
        )  # fmt: skip
    ax.set_title(title[:80], fontsize=10)
    ax.set_ylabel("refused (%)")
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6, tz=UTC))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=UTC))
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    if lines or baseline is not None:
        ax.legend(fontsize=7, loc="upper left")
    out = io.BytesIO()
    with _LOCK:
        fig.savefig(out, format="png", pil_kwargs={"compress_level": 1})
    return out.getvalue()
