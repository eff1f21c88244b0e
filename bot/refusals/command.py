"""``/refusals [category] [1h|24h|7d] [by category|model|prompt_version|tenant]``: rates against a baseline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.detectors import open_alarms
from bot.errors import UserError
from bot.refusals import shift
from bot.refusals.cards import report_card
from bot.refusals.chart import Line
from bot.refusals.stats import wilson
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand
from storage import refusals as store
from storage import rollups
from storage.models import LLMRequest
from storage.refusals_models import ModelSnapshot

WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400}
STEPS = {"1h": 300, "24h": 3600, "7d": 6 * 3600}
DIMENSIONS = ("category", "model", "prompt_version", "tenant")
BASELINE_SECONDS = 7 * 86400
RULES_WINDOW = 6 * 3600
"""The deciding-rule split reads raw requests, so it covers at most the last 6 hours of the window."""
MAX_ROWS = 15
CHART_LINES = 5
USAGE = "/refusals [category] [1h|24h|7d] [by category|model|prompt_version|tenant]"


@dataclass(frozen=True)
class Query:
    """A parsed /refusals request."""

    category: str | None = None
    window: str = "24h"
    by: str = "category"


def parse(text: str) -> Query:
    """Read the command's words in any order; a wrong word is named with what is allowed instead."""
    words = text.split()
    category, window, by = None, "24h", None
    i = 0
    while i < len(words):
        word = words[i]
        if word.lower() in WINDOWS:
            window = word.lower()
        elif word.lower() == "by":
            if i + 1 >= len(words) or words[i + 1].lower() not in DIMENSIONS:
                got = f"'{words[i + 1]}'" if i + 1 < len(words) else "nothing"
                raise UserError(f"`by` takes one of {', '.join(DIMENSIONS)}, not {got}. Usage: `{USAGE}`")
            by = words[i + 1].lower()
            i += 1
        elif category is None and len(word) <= 128:
            category = word
        else:
            raise UserError(f"did not understand '{word[:40]}'. Usage: `{USAGE}` (windows: 1h, 24h, 7d)")
        i += 1
    return Query(category=category, window=window, by=by or ("model" if category else "category"))


def handle(services: Services, request: CommandRequest) -> CommandReply:
    """Answer /refusals with a card (rates, baseline, change, volume, why) and a chart upload."""
    query = parse(request.text)
    now = request.now
    end = int(now.timestamp()) // 60 * 60 + 60
    start = end - WINDOWS[query.window]
    where = {"category": query.category} if query.category else {}
    step = STEPS[query.window]
    series_start = start // step * step if step < 3600 else start // 3600 * 3600
    with services.db.session() as session:
        current = rollups.list_cohorts(session=session, start=start, end=end, group_by=[query.by], where=where)
        base = rollups.list_cohorts(
            session=session, start=start - BASELINE_SECONDS, end=start, group_by=[query.by], where=where
        )
        series = store.list_refusal_series(
            session=session, start=series_start, end=end, step=step, group_by=[query.by], where=where
        )
        snapshots = store.list_snapshots(session=session, since_ms=start * 1000, until_ms=end * 1000, where=where)
        rules = _rule_counts(session, max(start, end - RULES_WINDOW), end, where)
    if not current and query.category:
        raise UserError(
            f"no requests in category '{query.category}' in the last {query.window}. "
            "Try `/refusals` alone to list the categories."
        )
    baseline = {s.cohort[query.by]: s.totals for s in base}
    rows = [_row(s.cohort[query.by], s.totals, baseline.get(s.cohort[query.by])) for s in current]
    rows.sort(key=lambda r: -r["requests"])
    total_n = sum(r["requests"] for r in rows)
    total_k = sum(r["refusals"] for r in rows)
    base_n = sum(int(t["requests"]) for t in baseline.values())
    base_k = sum(int(t["refusals"]) for t in baseline.values())
    markers = _markers(snapshots)
    shifts = [
        {"scope": a.memo.get("scope", a.key), "started_at": a.started_at}
        for a in open_alarms(services, shift.DETECTOR).values()
    ]
    shifts = [a for a in shifts if not query.category or f"category={query.category}" in a["scope"]]
    view = {
        "query": query,
        "rows": rows[:MAX_ROWS],
        "more": max(0, len(rows) - MAX_ROWS),
        "total": _row("all", {"requests": total_n, "refusals": total_k}, {"requests": base_n, "refusals": base_k}),
        "markers": markers[:8],
        "rules": rules,
        "rules_hours": min(WINDOWS[query.window], RULES_WINDOW) // 3600,
        "alarms": shifts[:5],
    }
    top = [r["name"] for r in rows[:CHART_LINES]]
    lines = [Line(name or "(none)", [(t, n, k) for t, (g,), n, k in series if g == name]) for name in top]
    card, upload = report_card(view, lines, baseline=base_k / base_n if base_n else None)
    return CommandReply(card=card, uploads=[upload])


def _row(name: str, totals: dict[str, float], base: dict[str, float] | None) -> dict[str, object]:
    n, k = int(totals["requests"]), int(totals["refusals"])
    lo, hi = wilson(k, n)
    rate = k / n if n else 0.0
    base_rate = int(base["refusals"]) / int(base["requests"]) if base and base["requests"] else None
    change = rate / base_rate if base_rate else None
    return {
        "name": name or "(none)",
        "requests": n,
        "refusals": k,
        "rate": rate,
        "lo": lo,
        "hi": hi,
        "base_rate": base_rate,
        "change": change,
    }


def _markers(snapshots: list[ModelSnapshot]) -> list[dict[str, object]]:
    """One marker per snapshot (provider, model, fingerprint), at its earliest sighting in any cohort."""
    first: dict[tuple[str, str, str], ModelSnapshot] = {}
    for s in snapshots:
        key = (s.provider, s.model, s.system_fingerprint)
        if key not in first or s.first_seen_ms < first[key].first_seen_ms:
            first[key] = s
    return [
        {
            "at": datetime.fromtimestamp(s.first_seen_ms / 1000, UTC),
            "label": s.model + (f" {s.system_fingerprint}" if s.system_fingerprint else ""),
        }
        for s in sorted(first.values(), key=lambda s: s.first_seen_ms)
    ]


def _rule_counts(session: Session, start: int, end: int, where: dict[str, str]) -> list[tuple[str, int]]:
    """Why requests counted as refused: how many each rule decided (client flag, finish_reason, pattern)."""
    stmt = select(LLMRequest.refusal_rule, func.count()).where(
        col(LLMRequest.ts_ms) >= start * 1000, col(LLMRequest.ts_ms) < end * 1000, col(LLMRequest.refused).is_(True)
    )
    for key, value in where.items():
        stmt = stmt.where(getattr(LLMRequest, key) == value)
    counts = session.execute(stmt.group_by(LLMRequest.refusal_rule)).all()
    return sorted(((rule or "client_flag", int(n)) for rule, n in counts), key=lambda rc: -rc[1])[:6]


COMMAND = SlashCommand(
    name="/refusals",
    description="Refusal rates per category against their baseline, with a chart and model changes",
    usage_hint="[category] [1h|24h|7d] [by category|model|prompt_version|tenant]",
    handler=handle,
)
