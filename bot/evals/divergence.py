"""Divergence as a metric: per intent, the offline pass rate against production over a trailing week.

Production is the labels' pass rate when an intent has ``min_count`` labels in the week, else the
users' positive-feedback rate when it has that much feedback, else unknown: a launch a few days old
has little of either, and a rate from a handful of thumbs is noise, not a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.evals.config import EvalsConfig
from bot.evals.stats import Rate, disjoint_below
from storage import evals_stats as stats
from storage import rollups

WEEK = timedelta(days=7)
OFFLINE_MAX_AGE = timedelta(days=30)
COVERAGE_MIN_TRAFFIC = 0.05
COVERAGE_RATIO = 1 / 3


@dataclass(frozen=True)
class IntentRow:
    """One intent's week: offline, labels, feedback, which production rate counts, the gap, the verdict."""

    intent: str
    offline: Rate
    labels: Rate
    feedback: Rate
    requests: int
    min_count: int
    max_gap: float

    @property
    def production(self) -> tuple[str, Rate] | None:
        """('labels' | 'feedback', rate) as the issue defines it; None on thin data."""
        if self.labels.total >= self.min_count:
            return "labels", self.labels
        if self.feedback.total >= self.min_count:
            return "feedback", self.feedback
        return None

    @property
    def gap_points(self) -> float | None:
        """Offline minus production, in percentage points (positive: production is worse)."""
        prod = self.production
        if prod is None or self.offline.rate is None or prod[1].rate is None:
            return None
        return (self.offline.rate - prod[1].rate) * 100

    @property
    def diverges(self) -> bool:
        gap = self.gap_points
        prod = self.production
        return gap is not None and prod is not None and gap > self.max_gap and disjoint_below(prod[1], self.offline)


@dataclass(frozen=True)
class CoverageGap:
    intent: str
    traffic_share: float
    case_share: float


@dataclass(frozen=True)
class Week:
    """Everything the detectors and /evals need about the trailing week before ``now``."""

    now: datetime
    rows: list[IntentRow]
    total_requests: int
    offline_cases: int
    suites: list[str]

    def coverage_gaps(self, min_requests: int = 0) -> list[CoverageGap]:
        """Intents with ≥ 5% of the traffic and no offline cases, or a case share under a third of it.

        An intent also needs ``min_requests`` in the week: on a launch's first hours 5% can be a handful.
        """
        if self.total_requests <= 0:
            return []
        gaps = []
        for row in self.rows:
            if not row.intent:
                continue  # requests that name no intent: no eval set can cover them
            share = row.requests / self.total_requests
            if share < COVERAGE_MIN_TRAFFIC or row.requests < min_requests:
                continue
            case_share = row.offline.total / self.offline_cases if self.offline_cases else 0.0
            if row.offline.total == 0 or case_share < share * COVERAGE_RATIO:
                gaps.append(CoverageGap(row.intent, share, case_share))
        return sorted(gaps, key=lambda g: -g.traffic_share)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def compute_week(
    session: Session,
    cfg: EvalsConfig,
    now: datetime,
    *,
    tenant: str | None = None,
    counted: tuple[dict[tuple[str, int], stats.Counts], dict[tuple[str, int], stats.Counts]] | None = None,
) -> Week:
    """The trailing 7 days before ``now`` per intent (offline: the latest run per suite in 30 days).

    ``counted``: (labels, feedback) already counted by week back from ``now`` (/evals counts them once
    for its trend; week 0 is this very window).
    """
    end_ms, start_ms = _ms(now), _ms(now - WEEK)
    span = {"start_ms": start_ms, "end_ms": end_ms, "excluded": cfg.opted_out_tenants, "tenant": tenant}
    if counted is None:
        labels = stats.count_labels(session=session, **span)
        feedback = stats.count_feedback(session=session, **span)
    else:
        labels, feedback = counted
    offline = stats.count_offline(session=session, since_ms=_ms(now - OFFLINE_MAX_AGE), until_ms=end_ms)
    end_s = int(now.timestamp()) // 60 * 60
    traffic = {
        c.cohort["intent"]: int(c.totals.get("requests", 0))
        for c in rollups.list_cohorts(
            session=session,
            start=end_s - int(WEEK.total_seconds()),
            end=end_s,
            group_by=["intent"],
            where={"tenant": tenant} if tenant else None,
        )
    }
    intents = (
        set(traffic) | set(offline.by_intent) | {i for i, w in labels if w == 0} | {i for i, w in feedback if w == 0}
    )
    none = stats.Counts()
    rows = [
        IntentRow(
            intent=intent,
            offline=_rate(offline.by_intent.get(intent, none)),
            labels=_rate(labels.get((intent, 0), none)),
            feedback=_rate(feedback.get((intent, 0), none)),
            requests=traffic.get(intent, 0),
            min_count=cfg.min_count,
            max_gap=cfg.max_gap,
        )
        for intent in sorted(intents)
    ]
    return Week(
        now=now,
        rows=rows,
        total_requests=sum(traffic.values()),
        offline_cases=offline.cases,
        suites=sorted({r.suite for r in offline.runs}),
    )


def _rate(counts: stats.Counts) -> Rate:
    return Rate(good=counts.good, total=counts.total)
