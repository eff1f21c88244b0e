"""Writes of the evals capability: feedback, labels (with their audit), offline runs, batches, late joins."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from storage.evals_models import (
    EvalBatch,
    EvalBatchItem,
    EvalFeedback,
    EvalLabel,
    EvalLabelChange,
    EvalResult,
    EvalRun,
)
from storage.models import LLMRequest

CHUNK = 500


@dataclass(frozen=True)
class RequestRef:
    """What feedback and labels copy from the request they are about."""

    row_id: int
    tenant: str
    intent: str
    prompt_version: str


def list_request_refs(
    *, session: Session, request_ids: Iterable[str], tenant: str | None
) -> dict[str, list[RequestRef]]:
    """The logged requests behind these ids (in one tenant, or any when ``tenant`` is None), by id."""
    ids = sorted(set(request_ids))
    found: dict[str, list[RequestRef]] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = select(
            LLMRequest.id, LLMRequest.request_id, LLMRequest.tenant, LLMRequest.intent, LLMRequest.prompt_version
        ).where(col(LLMRequest.request_id).in_(ids[start : start + CHUNK]))
        if tenant:
            stmt = stmt.where(LLMRequest.tenant == tenant)
        for row_id, request_id, t, intent, pv in session.execute(stmt):
            found.setdefault(request_id, []).append(RequestRef(int(row_id), t, intent, pv))
    return found


def upsert_feedback(*, session: Session, row: dict[str, Any], own_time: bool) -> str:
    """Store one feedback item: 'accepted', 'duplicate' (same verdict again) or 'updated' (the user changed it).

    Without ``own_time`` (the item carried no timestamp) a resend keeps the first receipt time.
    """
    existing = (
        session.execute(
            select(EvalFeedback).where(
                EvalFeedback.tenant == row["tenant"],
                EvalFeedback.request_id == row["request_id"],
                EvalFeedback.user_key == row["user_key"],
            )
        )
        .scalars()
        .first()
    )
    if existing is None:
        session.add(EvalFeedback(**row))
        return "accepted"
    fields = ("score", "value", "positive", "neutral", "comment") + (("ts_ms",) if own_time else ())
    if all(getattr(existing, f) == row[f] for f in fields):
        return "duplicate"
    for f in fields:
        setattr(existing, f, row[f])
    session.add(existing)
    return "updated"


def get_label(*, session: Session, tenant: str, request_id: str, labeller: str) -> EvalLabel | None:
    return (
        session.execute(
            select(EvalLabel).where(
                EvalLabel.tenant == tenant, EvalLabel.request_id == request_id, EvalLabel.labeller == labeller
            )
        )
        .scalars()
        .first()
    )


def upsert_label(*, session: Session, row: dict[str, Any], now: datetime, keep: Sequence[str] = ()) -> str:
    """One label per (request, labeller): a new one, the same again, or a change written to the audit trail.

    Fields named in ``keep`` are left as stored when the new value is None (a Slack click on pass/fail keeps
    the category and note given before).
    """
    existing = get_label(session=session, tenant=row["tenant"], request_id=row["request_id"], labeller=row["labeller"])
    if existing is None:
        session.add(EvalLabel(**row))
        return "accepted"
    changed = False
    for field in ("label", "category", "note"):
        new = row.get(field)
        if field in keep and new is None:
            continue
        old = getattr(existing, field)
        if old != new:
            session.add(EvalLabelChange(label_id=existing.id, at=now, field=field, old=old, new=new))
            setattr(existing, field, new)
            changed = True
    if not changed:
        return "duplicate"
    existing.ts_ms, existing.received_ms, existing.source = row["ts_ms"], row["received_ms"], row["source"]
    for field in ("intent", "prompt_version"):
        if row.get(field) is not None:
            setattr(existing, field, row[field])
    session.add(existing)
    return "updated"


def list_label_changes(*, session: Session, label_ids: Sequence[int]) -> list[EvalLabelChange]:
    if not label_ids:
        return []
    stmt = select(EvalLabelChange).where(col(EvalLabelChange.label_id).in_(list(label_ids)))
    return list(session.execute(stmt.order_by(col(EvalLabelChange.id))).scalars())


def get_or_create_run(*, session: Session, run: dict[str, Any], now: datetime) -> tuple[EvalRun, set[str]]:
    """The run (created at the first send) and the case ids it already holds, so a resend adds nothing twice."""
    found = (
        session.execute(
            select(EvalRun).where(EvalRun.suite == run["suite"], EvalRun.started_at_ms == run["started_at_ms"])
        )
        .scalars()
        .first()
    )
    if found is None:
        found = EvalRun(**run, received_at=now)
        session.add(found)
        session.flush()
        return found, set()
    cases = session.execute(select(EvalResult.case_id).where(EvalResult.run_id == found.id)).scalars()
    return found, set(cases)


def add_results(*, session: Session, run_id: int, results: Sequence[dict[str, Any]]) -> None:
    session.add_all([EvalResult(run_id=run_id, **r) for r in results])


def join_pending(*, session: Session, limit: int = 5000) -> int:
    """Copy intent and prompt version onto feedback and labels whose request has arrived since; returns how many.

    One join per table finds only the rows that can be joined now, so feedback on a request that never
    comes costs nothing on later runs; an id logged in several tenants by an unbound key stays unjoined.
    """
    done = 0
    for table in (EvalFeedback, EvalLabel):
        found = session.execute(
            select(table.id, LLMRequest.tenant, LLMRequest.intent, LLMRequest.prompt_version)
            .join(LLMRequest, LLMRequest.request_id == table.request_id)
            .where(col(table.intent).is_(None), (table.tenant == "") | (table.tenant == LLMRequest.tenant))
            .limit(limit)
        ).all()
        matches: dict[int, list[tuple[str, str, str]]] = {}
        for row_id, tenant, intent, version in found:
            matches.setdefault(int(row_id), []).append((tenant, intent, version))
        for row_id, refs in matches.items():
            if len(refs) != 1:
                continue
            tenant, intent, version = refs[0]
            try:
                with session.begin_nested():
                    session.execute(
                        update(table)
                        .where(table.id == row_id)
                        .values(tenant=tenant, intent=intent, prompt_version=version)
                    )
            except IntegrityError:
                # The same person spoke again once the request was known: that later row holds the verdict.
                session.execute(delete(table).where(table.id == row_id))
            done += 1
    return done


def create_batch(*, session: Session, batch: EvalBatch, items: Sequence[EvalBatchItem]) -> EvalBatch:
    session.add(batch)
    session.flush()
    for item in items:
        item.batch_id = int(batch.id or 0)
    session.add_all(list(items))
    batch.items = len(items)
    session.flush()
    return batch


def get_batch_item(*, session: Session, item_id: int) -> tuple[EvalBatchItem, EvalBatch] | None:
    row = session.execute(
        select(EvalBatchItem, EvalBatch)
        .join(EvalBatch, EvalBatch.id == EvalBatchItem.batch_id)
        .where(EvalBatchItem.id == item_id)
    ).first()
    return (row[0], row[1]) if row else None


def list_batch_items(*, session: Session, batch_id: int) -> list[EvalBatchItem]:
    stmt = select(EvalBatchItem).where(EvalBatchItem.batch_id == batch_id).order_by(col(EvalBatchItem.position))
    return list(session.execute(stmt).scalars())


def list_item_labels(*, session: Session, items: Sequence[EvalBatchItem]) -> dict[int, list[EvalLabel]]:
    """Labels on each batch item's request (any source), by item id."""
    by_ref = {(i.tenant, i.request_id): int(i.id or 0) for i in items}
    out: dict[int, list[EvalLabel]] = {item_id: [] for item_id in by_ref.values()}
    ids = sorted({r for _, r in by_ref})
    for start in range(0, len(ids), CHUNK):
        stmt = select(EvalLabel).where(col(EvalLabel.request_id).in_(ids[start : start + CHUNK]))
        for label in session.execute(stmt.order_by(col(EvalLabel.id))).scalars():
            item_id = by_ref.get((label.tenant, label.request_id))
            if item_id is not None:  # the same request id in another tenant is another request
                out[item_id].append(label)
    return out


def list_open_batches(*, session: Session, limit: int = 10) -> list[EvalBatch]:
    stmt = select(EvalBatch).where(col(EvalBatch.closed_at).is_(None)).order_by(col(EvalBatch.id).desc())
    return list(session.execute(stmt.limit(limit)).scalars())


def close_batch(*, session: Session, batch_id: int, now: datetime) -> None:
    session.execute(update(EvalBatch).where(EvalBatch.id == batch_id).values(closed_at=now))


def get_last_batch_time(*, session: Session) -> datetime | None:
    return session.execute(select(func.max(EvalBatch.created_at))).scalar_one_or_none()
