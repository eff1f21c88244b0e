"""Reads of the evals capability: counts per intent (and per week) of labels, feedback and offline results.

Feedback and labels count at their own ``ts_ms``. Rows whose request had not arrived when they were
stored (``intent`` NULL) are joined to the requests table here, so a late request is counted at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, select
from sqlmodel import Session, col

from storage.evals_models import EvalFeedback, EvalLabel, EvalResult, EvalRun
from storage.models import LLMRequest

WEEK_MS = 7 * 86400 * 1000


@dataclass
class Counts:
    """Successes and trials of one rate."""

    good: int = 0
    total: int = 0

    def add(self, good: int, total: int) -> None:
        self.good += int(good or 0)
        self.total += int(total or 0)


@dataclass
class OfflineCounts:
    """Offline cases per intent from the latest run of each suite, and the runs they came from."""

    by_intent: dict[str, Counts] = field(default_factory=dict)
    runs: list[EvalRun] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return sum(c.total for c in self.by_intent.values())


def _grouped(
    session: Session,
    table: type[EvalFeedback] | type[EvalLabel],
    good: object,
    counted: object,
    start_ms: int,
    end_ms: int,
    excluded: Sequence[str],
    week_end_ms: int | None,
    tenant: str | None,
) -> dict[tuple[str, int], Counts]:
    """(intent, week index) -> counts over (start, end], for rows with an intent and rows joined to a late request."""
    out: dict[tuple[str, int], Counts] = {}
    week = (week_end_ms - table.ts_ms) // WEEK_MS if week_end_ms is not None else None

    def run(stmt: Select, intent_col: object, tenant_col: object) -> None:
        stmt = stmt.where(table.ts_ms > start_ms, table.ts_ms <= end_ms)
        if excluded:
            stmt = stmt.where(tenant_col.not_in(list(excluded)))  # type: ignore[attr-defined]
        if tenant is not None:
            stmt = stmt.where(tenant_col == tenant)
        groups = [intent_col] + ([week] if week is not None else [])
        stmt = stmt.group_by(*groups)
        for row in session.execute(stmt):
            key = (row[0] or "", int(row[1]) if week is not None else 0)
            out.setdefault(key, Counts()).add(row[-2], row[-1])

    sums = (func.sum(case((good, 1), else_=0)), func.sum(case((counted, 1), else_=0)))
    cols = [table.intent] + ([week] if week is not None else [])
    run(select(*cols, *sums).where(col(table.intent).is_not(None)), table.intent, table.tenant)
    late_cols = [LLMRequest.intent] + ([week] if week is not None else [])
    late = (
        select(*late_cols, *sums)
        .join(LLMRequest, LLMRequest.request_id == table.request_id)
        .where(col(table.intent).is_(None), (table.tenant == "") | (table.tenant == LLMRequest.tenant))
    )
    run(late, LLMRequest.intent, LLMRequest.tenant)
    return out


def count_labels(
    *,
    session: Session,
    start_ms: int,
    end_ms: int,
    excluded: Sequence[str] = (),
    week_end_ms: int | None = None,
    tenant: str | None = None,
) -> dict[tuple[str, int], Counts]:
    """Pass labels and pass-or-fail labels ('unsure' counts in neither) per intent (and week back from week_end)."""
    return _grouped(
        session,
        EvalLabel,
        EvalLabel.label == "pass",
        col(EvalLabel.label).in_(["pass", "fail"]),
        start_ms,
        end_ms,
        excluded,
        week_end_ms,
        tenant,
    )


def count_feedback(
    *,
    session: Session,
    start_ms: int,
    end_ms: int,
    excluded: Sequence[str] = (),
    week_end_ms: int | None = None,
    tenant: str | None = None,
) -> dict[tuple[str, int], Counts]:
    """Positive and non-neutral feedback per intent (and week back from week_end)."""
    return _grouped(
        session,
        EvalFeedback,
        (EvalFeedback.positive.is_(True)) & (EvalFeedback.neutral.is_(False)),  # type: ignore[attr-defined]
        EvalFeedback.neutral.is_(False),  # type: ignore[attr-defined]
        start_ms,
        end_ms,
        excluded,
        week_end_ms,
        tenant,
    )


def count_offline(*, session: Session, since_ms: int, until_ms: int) -> OfflineCounts:
    """Cases per intent of the latest run of each suite that started in [since, until]."""
    latest = (
        select(EvalRun.suite, func.max(EvalRun.started_at_ms).label("started"))
        .where(EvalRun.started_at_ms >= since_ms, EvalRun.started_at_ms <= until_ms)
        .group_by(EvalRun.suite)
        .subquery()
    )
    runs = list(
        session.execute(
            select(EvalRun).join(
                latest, (EvalRun.suite == latest.c.suite) & (EvalRun.started_at_ms == latest.c.started)
            )
        ).scalars()
    )
    out = OfflineCounts(runs=runs)
    if not runs:
        return out
    stmt = (
        select(EvalResult.intent, func.sum(case((col(EvalResult.passed).is_(True), 1), else_=0)), func.count())
        .where(col(EvalResult.run_id).in_([r.id for r in runs]))
        .group_by(EvalResult.intent)
    )
    for intent, passed, total in session.execute(stmt):
        out.by_intent.setdefault(intent, Counts()).add(passed, total)
    return out
