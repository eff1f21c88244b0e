"""The burn chart: spend accumulating over the window against the budget's pace, as a PNG."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import matplotlib.dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def render_chart(
    series: list[tuple[int, float]], *, start: int, end: int, pace_per_s: float | None, title: str
) -> bytes:
    """Cumulative spend per bucket, with the budget pace line when a budget applies; PNG bytes.

    Drawn on a bare Agg figure (no pyplot state) and saved with light PNG compression: ``/cost`` waits for it.
    """
    fig = Figure(figsize=(8, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = [datetime.fromtimestamp(start, UTC)]
    ys = [0.0]
    total = 0.0
    for bucket, cost in series:
        total += cost
        xs.append(datetime.fromtimestamp(bucket, UTC))
        ys.append(total)
    xs.append(datetime.fromtimestamp(end, UTC))
    ys.append(total)
    ax.step(xs, ys, where="post", color="#1f77b4", linewidth=2, label="spend")
    if pace_per_s:
        ax.plot(
            [datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)],
            [0, pace_per_s * (end - start)],
            color="#d62728",
            linestyle="--",
            label="budget pace",
        )
    ax.set_title(title[:90], fontsize=10)
    ax.set_ylabel("USD (cumulative)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    return buf.getvalue()
