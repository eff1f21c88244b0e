"""Detectors ``eval_divergence`` and ``eval_coverage``: pure reads of the trailing week, findings for the kernel."""

from __future__ import annotations

from datetime import datetime

from bot.cards.text import pct
from bot.detectors import Finding
from bot.evals.divergence import CoverageGap, IntentRow, Week, compute_week
from bot.services import Services

RUNBOOK = "eval-drift"


def load_week(services: Services, now: datetime) -> Week:
    with services.db.session() as session:
        return compute_week(session, services.settings.file.evals, now)


def divergent(week: Week) -> list[IntentRow]:
    """Intents whose production rate sits below offline by more than max_gap, intervals apart."""
    return [row for row in week.rows if row.intent and row.diverges]


def _interval(lo_hi: tuple[float, float]) -> str:
    return f"{pct(lo_hi[0])}–{pct(lo_hi[1])}"


def divergence_finding(row: IntentRow, now: datetime) -> Finding:
    source, prod = row.production or ("labels", row.labels)
    gap = row.gap_points or 0.0
    what = "labelled pass rate" if source == "labels" else "positive-feedback rate"
    return Finding(
        detector="eval_divergence",
        key=f"eval_divergence:intent={row.intent}",
        incident=f"eval_divergence:intent={row.intent}",
        cause="eval_divergence",
        runbook=RUNBOOK,
        suggested_flag=None,
        status="firing",
        severity="medium",
        title=(
            f"Eval divergence on {row.intent}: production {pct(prod.rate or 0)} vs offline {pct(row.offline.rate or 0)}"
        ),
        summary=(
            f"Over the last 7 days the {what} of '{row.intent}' is {pct(prod.rate or 0)} "
            f"({prod.good}/{prod.total}), {gap:.1f} points below the offline suite's "
            f"{pct(row.offline.rate or 0)} ({row.offline.good}/{row.offline.total}); the 95% intervals do not overlap."
        ),
        labels={"intent": row.intent},
        started_at=now,
        figures=[
            ("offline pass rate", f"{pct(row.offline.rate or 0)} ({_interval(row.offline.interval)})"),
            (f"production ({source})", f"{pct(prod.rate or 0)} ({_interval(prod.interval)})"),
            ("gap", f"{gap:.1f} points (alarm above {row.max_gap:g})"),
            ("counts", f"{row.labels.total} labels, {row.feedback.total} feedback, {row.offline.total} cases"),
            ("production from", "labels" if source == "labels" else "user feedback (too few labels)"),
        ],
    )


def coverage_finding(gap: CoverageGap, week: Week, now: datetime) -> Finding:
    cases = "no offline cases" if gap.case_share == 0 else f"{pct(gap.case_share)} of the offline cases"
    return Finding(
        detector="eval_coverage",
        key=f"eval_coverage:intent={gap.intent}",
        incident="eval_coverage",
        cause="eval_coverage",
        runbook=RUNBOOK,
        suggested_flag=None,
        status="firing",
        severity="low",
        title=f"Eval set misses {gap.intent}: {pct(gap.traffic_share)} of traffic, {cases}",
        summary=(
            f"'{gap.intent}' carries {pct(gap.traffic_share)} of the last 7 days' requests but has {cases} "
            f"(suites: {', '.join(week.suites) or 'none in 30 days'}): the eval set needs a rewrite here."
        ),
        labels={"intent": gap.intent},
        started_at=now,
        figures=[
            ("traffic share", pct(gap.traffic_share)),
            ("offline case share", pct(gap.case_share)),
            ("requests in 7 days", f"{week.total_requests:,}"),
        ],
    )


def detect_divergence(services: Services, now: datetime) -> list[Finding]:
    """``eval_divergence``: production below offline by more than max_gap with non-overlapping intervals."""
    return [divergence_finding(row, now) for row in divergent(load_week(services, now))]


def detect_coverage(services: Services, now: datetime) -> list[Finding]:
    """``eval_coverage``: intents with ≥ 5% of traffic and no (or too few) offline cases."""
    week = load_week(services, now)
    if week.offline_cases == 0 and not week.suites:
        return []  # no offline suite reported at all: nothing to compare coverage against yet
    gaps = week.coverage_gaps(services.settings.file.evals.min_count)
    return [coverage_finding(gap, week, now) for gap in gaps]
