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
    intent: str | None = None,
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
        if intent is not None:
            stmt = stmt.where(intent_col == intent)
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
    intent: str | None = None,
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
        intent,
    )


def count_feedback(
    *,
    session: Session,
    start_ms: int,
    end_ms: int,
    excluded: Sequence[str] = (),
    week_end_ms: int | None = None,
    tenant: str | None = None,
    intent: str | None = None,
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
        intent,
    )


def list_offline(*, session: Session, since_ms: int, until_ms: int) -> list[tuple[EvalRun, dict[str, Counts]]]:
    """Every run started in [since, until] with its cases per intent, in two queries (oldest run first)."""
    runs = list(
        session.execute(
            select(EvalRun)
            .where(EvalRun.started_at_ms >= since_ms, EvalRun.started_at_ms <= until_ms)
            .order_by(col(EvalRun.started_at_ms))
        ).scalars()
    )
    if not runs:
        return []
    by_run: dict[int, dict[str, Counts]] = {int(r.id or 0): {} for r in runs}
    stmt = (
        select(
            EvalResult.run_id,
            EvalResult.intent,
            func.sum(case((col(EvalResult.passed).is_(True), 1), else_=0)),
            func.count(),
        )
        .where(col(EvalResult.run_id).in_(list(by_run)))
        .group_by(EvalResult.run_id, EvalResult.intent)
    )
    for run_id, intent, passed, total in session.execute(stmt):
        by_run[int(run_id)].setdefault(intent, Counts()).add(passed, total)
    return [(r, by_run[int(r.id or 0)]) for r in runs]


def latest_per_suite(runs: Sequence[tuple[EvalRun, dict[str, Counts]]], since_ms: int, until_ms: int) -> OfflineCounts:
    """Cases per intent of the latest run of each suite that started in [since, until]."""
    latest: dict[str, tuple[EvalRun, dict[str, Counts]]] = {}
    for run, cases in runs:
        if since_ms <= run.started_at_ms <= until_ms:
            held = latest.get(run.suite)
            if held is None or run.started_at_ms >= held[0].started_at_ms:
                latest[run.suite] = (run, cases)
    out = OfflineCounts(runs=[r for r, _ in latest.values()])
    for _, cases in latest.values():
        for intent, counts in cases.items():
            out.by_intent.setdefault(intent, Counts()).add(counts.good, counts.total)
    return out


def count_offline(*, session: Session, since_ms: int, until_ms: int) -> OfflineCounts:
    """Cases per intent of the latest run of each suite that started in [since, until]."""
    return latest_per_suite(list_offline(session=session, since_ms=since_ms, until_ms=until_ms), since_ms, until_ms)
