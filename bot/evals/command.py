"""``/evals [intent] [4w|12w]``: offline vs production per intent, the weekly trend, coverage gaps, open batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import HEADER_TEXT, SECTION_TEXT, truncate_text
from bot.cards.text import render
from bot.errors import UserError
from bot.evals import trend
from bot.evals.chart import Series, render_trend
from bot.evals.divergence import IntentRow, compute_week
from bot.evals.stats import Rate
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand, Upload
from storage import evals as store

WINDOWS = {"4w": 4, "12w": 12}
USAGE = "/evals [intent] [4w|12w]"
MAX_ROWS = 12
CHART_INTENTS = 6


@dataclass(frozen=True)
class Query:
    intent: str | None = None
    window: str = "4w"


def parse(text: str) -> Query:
    """Read the words in any order: a window (4w, 12w) and at most one intent."""
    intent, window = None, "4w"
    for word in text.split():
        if word.lower() in WINDOWS:
            window = word.lower()
        elif intent is None and len(word) <= 128:
            intent = word
        else:
            raise UserError(f"did not understand '{word[:40]}'. Usage: `{USAGE}` (windows: 4w, 12w)")
    return Query(intent=intent, window=window)


def _rate(r: Rate) -> dict[str, object]:
    lo, hi = r.interval
    return {"rate": r.rate, "lo": lo, "hi": hi, "total": r.total}


def _row(r: IntentRow) -> dict[str, object]:
    prod = r.production
    return {
        "intent": r.intent or "(no intent)",
        "requests": r.requests,
        "offline": _rate(r.offline),
        "labels": _rate(r.labels),
        "feedback": _rate(r.feedback),
        "gap": r.gap_points,
        "source": prod[0] if prod else "",
        "diverges": bool(r.intent) and r.diverges,
    }


def handle(services: Services, request: CommandRequest) -> CommandReply:
    """Answer /evals with the table card and the trend chart."""
    query = parse(request.text)
    now = request.now
    cfg = services.settings.file.evals
    tenant = services.settings.file.channels.tenant_channels.get(request.channel_id)
    with services.db.session() as session:
        weeks = WINDOWS[query.window]
        trends, counted = trend.weekly(session, cfg, now, weeks, tenant=tenant, only=query.intent)
        week = compute_week(session, cfg, now, tenant=tenant, counted=counted)
        batches = [] if tenant else store.list_open_batches(session=session)
        progress = []
        for batch in batches:
            items = store.list_batch_items(session=session, batch_id=int(batch.id or 0))
            labels = store.list_item_labels(session=session, items=items)
            progress.append(
                {
                    "id": batch.id,
                    "created_at": batch.created_at,
                    "size": len(items),
                    "labelled": sum(1 for v in labels.values() if v),
                    "channel": batch.channel,
                }
            )
    rows = week.rows
    if query.intent:
        rows = [r for r in rows if r.intent == query.intent]
        trends = [t for t in trends if t.intent == query.intent]
        if not rows and not trends:
            known = ", ".join(r.intent for r in week.rows if r.intent)[:300] or "none yet"
            raise UserError(f"no intent '{query.intent[:60]}' in the last week. Known intents: {known}")
    rows = sorted(rows, key=lambda r: (not r.diverges, -r.requests))
    table = render(
        "evals_command.md.j2",
        now=now,
        min_count=cfg.min_count,
        rows=[_row(r) for r in rows[:MAX_ROWS]],
        more=max(0, len(rows) - MAX_ROWS),
        suites=week.suites,
    )
    gaps = [g for g in week.coverage_gaps() if not query.intent or g.intent == query.intent]
    extras = render("evals_extras.md.j2", gaps=gaps[:10], batches=progress)
    scope = f" · tenant {tenant}" if tenant else ""
    title = f"Evals · {query.intent or 'all intents'} · {query.window}{scope}"
    card = Card(
        text=title,
        blocks=[
            b.header(truncate_text(title, HEADER_TEXT)),
            *[b.section(chunk) for chunk in _chunks(table)],
            b.divider(),
            *[b.section(chunk) for chunk in _chunks(extras)],
            b.context("Trend chart attached below. Runbook: eval-drift."),
        ],
    )
    png = _chart(trends, now, WINDOWS[query.window], cfg.min_count, title, single=query.intent is not None)
    slug = (query.intent or "all").replace("/", "_")[:40]
    return CommandReply(
        card=card, uploads=[Upload(filename=f"evals-{slug}-{query.window}.png", content=png, title=title)]
    )


def _chart(
    trends: list[trend.IntentTrend], now: datetime, weeks: int, min_count: int, title: str, *, single: bool
) -> bytes:
    labels = [(now - timedelta(days=7 * (weeks - 1 - i))).astimezone(UTC).strftime("%m-%d") for i in range(weeks)]
    series: list[Series] = []
    shown = sorted(trends, key=lambda t: -sum(r.total for r in t.feedback + t.labels))[:CHART_INTENTS]
    for t in shown:
        series.append(Series(f"{t.intent} production", t.production(min_count)))
        series.append(Series(f"{t.intent} offline", [r.rate for r in t.offline], dashed=True))
    if single and shown:
        series.append(Series("labels (any count)", [r.rate for r in shown[0].labels]))
    return render_trend(series, labels, title=title)


def _chunks(text: str) -> list[str]:
    """Sections cut at line ends, each within Slack's section limit."""
    out: list[str] = []
    for line in text.splitlines():
        line = truncate_text(line, SECTION_TEXT)
        if out and len(out[-1]) + 1 + len(line) <= SECTION_TEXT:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return [c for c in out if c.strip()]


COMMAND = SlashCommand(
    name="/evals",
    description="Offline eval vs production per intent: pass rates, feedback, the gap, coverage and labelling",
    usage_hint="[intent] [4w|12w]",
    handler=handle,
)
