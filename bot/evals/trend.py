"""Weekly history per intent for the /evals chart: labels, feedback and offline, week by week back from now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.evals.config import EvalsConfig
from bot.evals.divergence import OFFLINE_MAX_AGE
from bot.evals.stats import Rate
from storage import evals_stats as stats


@dataclass(frozen=True)
class IntentTrend:
    """Oldest week first."""

    intent: str
    labels: list[Rate]
    feedback: list[Rate]
    offline: list[Rate]

    def production(self, min_count: int) -> list[float | None]:
        """Per week the rate the detector would use: labels, else feedback, else nothing (thin data)."""
        out: list[float | None] = []
        for labels, feedback in zip(self.labels, self.feedback, strict=True):
            if labels.total >= min_count:
                out.append(labels.rate)
            elif feedback.total >= min_count:
                out.append(feedback.rate)
            else:
                out.append(None)
        return out


Counted = dict[tuple[str, int], stats.Counts]


def weekly(
    session: Session,
    cfg: EvalsConfig,
    now: datetime,
    weeks: int,
    *,
    tenant: str | None = None,
    only: str | None = None,
) -> tuple[list[IntentTrend], tuple[Counted, Counted]]:
    """Trailing weeks ending at ``now`` (week 0 is the last 7 days), oldest first, for every intent or ``only``
    one; also the raw (labels, feedback) counts by (intent, weeks back), whose week 0 ``compute_week`` reuses."""
    end_ms = int(now.timestamp() * 1000)
    start_ms = end_ms - weeks * stats.WEEK_MS
    span = {"start_ms": start_ms, "end_ms": end_ms, "excluded": cfg.opted_out_tenants, "week_end_ms": end_ms}
    labels = stats.count_labels(session=session, tenant=tenant, intent=only, **span)
    feedback = stats.count_feedback(session=session, tenant=tenant, intent=only, **span)
    max_age_ms = int(OFFLINE_MAX_AGE.total_seconds() * 1000)
    runs = stats.list_offline(session=session, since_ms=start_ms - max_age_ms, until_ms=end_ms)
    offline = []
    for back in range(weeks):
        week_end_ms = end_ms - back * stats.WEEK_MS
        offline.append(stats.latest_per_suite(runs, week_end_ms - max_age_ms, week_end_ms).by_intent)
    intents = {i for i, _ in labels} | {i for i, _ in feedback} | {i for o in offline for i in o}
    none = stats.Counts()
    trends = []
    for intent in sorted(i for i in intents if i):
        order = range(weeks - 1, -1, -1)
        trends.append(
            IntentTrend(
                intent=intent,
                labels=[_rate(labels.get((intent, w), none)) for w in order],
                feedback=[_rate(feedback.get((intent, w), none)) for w in order],
                offline=[_rate(offline[w].get(intent, none)) for w in order],
            )
        )
    return trends, (labels, feedback)


def _rate(c: stats.Counts) -> Rate:
    return Rate(good=c.good, total=c.total)
