"""Turn a burning cohort and its attribution into the finding the alert pipeline makes a card of."""

from __future__ import annotations

from datetime import datetime

from bot.cards.text import duration, render, usd
from bot.cost.attribution import TITLES, Attribution
from bot.cost.budgets import describe_cohort
from bot.cost.burn import Thresholds
from bot.cost.detector import DETECTOR, Evaluation
from bot.detectors import Finding
from storage.alarms import DetectorAlarm


def build_finding(
    ev: Evaluation, attribution: Attribution, t: Thresholds, *, started_at: datetime, now: datetime
) -> Finding:
    """A firing finding: critical for a fast burn (pages), medium for a slow one that will break the budget."""
    page = ev.level == "page"
    long_w, short_w = (
        (ev.windows["page_long"], ev.windows["page_short"])
        if page
        else (
            ev.windows["ticket_long"],
            ev.windows["ticket_short"],
        )
    )
    rule = t.page if page else t.ticket
    long_s, short_s = rule.long_s, rule.short_s
    top = attribution.ranking[0] if attribution.ranking else None
    labels: dict[str, str] = {"detector": DETECTOR, "cause": attribution.cause, **ev.cohort}
    for dim, value in attribution.dominant.items():
        labels.setdefault(dim, value)
    cohort = describe_cohort(ev.cohort)
    summary = render(
        "cost_alarm.md.j2",
        level=ev.level,
        cohort=cohort,
        burn_long=_x(long_w.burn),
        burn_short=_x(short_w.burn),
        long=duration(long_s),
        short=duration(short_s),
        actual=long_w.actual,
        expected=long_w.expected,
        projection=ev.projection,
        period=ev.projection_budget.period if ev.projection_budget else "",
        budget_scope=ev.projection_budget.label if ev.projection_budget else "",
        cause=attribution.cause,
        cause_title=attribution.title,
        score=f"{top.score:.2f}" if top else "0",
        also=ev.also,
    )
    figures: list[tuple[str, str]] = [
        (f"spend, last {duration(long_s)}", f"{usd(long_w.actual)} (expected {usd(long_w.expected)})"),
        ("burn rate", f"{_x(long_w.burn)}x over {duration(long_s)}, {_x(short_w.burn)}x over {duration(short_s)}"),
    ]
    if ev.projection is not None:
        p = ev.projection
        figures.append(("projected end of period", f"{usd(p.projected)} of {usd(p.budget)}"))
        left = "—" if p.seconds_left is None else ("budget spent" if p.seconds_left <= 0 else duration(p.seconds_left))
        figures.append(("time until the budget is gone", left))
    if top is not None and attribution.cause != "unknown":
        figures += top.figures
    figures.append(
        ("causes ranked", ", ".join(f"{TITLES[c.cause]} {c.score:.2f}" for c in attribution.ranking[:6]) or "none")
    )
    title = f"{'Fast' if page else 'Slow'} spend burn: {cohort}, likely {attribution.title}"
    return Finding(
        detector=DETECTOR,
        key=ev.key,
        status="firing",
        severity="critical" if page else "medium",
        title=title[:150],
        summary=summary,
        labels=labels,
        started_at=started_at,
        figures=figures,
        sample_request_ids=top.samples[:5] if top else [],
        cause=attribution.cause,
    )


def resolved_finding(alarm: DetectorAlarm, last: Finding, now: datetime) -> Finding:
    """The burn stopped: the same key, resolved, so the card closes itself."""
    cohort = describe_cohort(last.cohort)
    return last.with_(
        status="resolved",
        title=f"Spend burn stopped: {cohort}"[:150],
        summary=f"The burn on {cohort} stopped after {duration(now - alarm.started_at)}.",
        figures=[],
        sample_request_ids=[],
        memo={},
    )


def _x(burn: float) -> str:
    return "∞" if burn == float("inf") else f"{burn:.1f}"
