"""Signals in: end-user feedback, labels made in other tools, and offline suite runs, each stored once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.evals.schema import FeedbackIn, LabelIn, ResultIn, RunIn, SignalResult, validate_items
from bot.ingest.service import hash_user
from bot.services import Services
from storage import evals as store
from storage.evals import RequestRef
from storage.models import IngestKey


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _tenant_of(key: IngestKey, item_tenant: str | None, index: int, name: str, result: SignalResult) -> str | None:
    """The tenant an item is about: a bound key's own (another is refused), else what the item names, else ''."""
    if key.tenant is not None:
        if item_tenant not in (None, key.tenant):
            result.reject(index, f"{name}[{index}].tenant", f"this key is bound to tenant '{key.tenant}'")
            return None
        return key.tenant
    return item_tenant or ""


def _resolve(refs: dict[str, list[RequestRef]], request_id: str, tenant: str) -> RequestRef | None:
    """The one logged request an item is about; None while it has not arrived (or the id is ambiguous)."""
    matches = [r for r in refs.get(request_id, []) if not tenant or r.tenant == tenant]
    return matches[0] if len(matches) == 1 else None


def store_feedback(services: Services, items: Sequence[Any], *, key: IngestKey, now: datetime) -> SignalResult:
    """Store each valid feedback item once; feedback on a request not yet logged is kept and joined later."""
    result = SignalResult()
    good: list[tuple[FeedbackIn, str]] = []
    for i, item in validate_items(FeedbackIn, items, "feedback", result, now):
        tenant = _tenant_of(key, item.tenant, i, "feedback", result)
        if tenant is not None:
            good.append((item, tenant))
    if not good:
        return result
    secret = services.ingest.secret_key
    with services.db.write_session() as session:
        refs = store.list_request_refs(session=session, request_ids=[f.request_id for f, _ in good], tenant=key.tenant)
        for item, tenant in good:
            ref = _resolve(refs, item.request_id, tenant)
            tenant = ref.tenant if ref else tenant
            row = {
                "tenant": tenant,
                "request_id": item.request_id,
                # Keyed without the tenant: feedback sent before its request is known has none yet,
                # and must still meet the same person's later feedback on that request.
                "user_key": hash_user(secret, "", item.user_id)[:32] if item.user_id else "",
                "score": item.score,
                "value": item.value,
                "positive": item.positive,
                "neutral": item.score == 0,
                "comment": item.comment,
                "ts_ms": _ms(item.timestamp or now),
                "received_ms": _ms(now),
                "intent": ref.intent if ref else None,
                "prompt_version": ref.prompt_version if ref else None,
            }
            _count(result, store.upsert_feedback(session=session, row=row, own_time=item.timestamp is not None))
    return result


def store_labels(services: Services, items: Sequence[Any], *, key: IngestKey, now: datetime) -> SignalResult:
    """Store each label once per (request, labeller); a changed verdict updates it and is audited."""
    result = SignalResult()
    good: list[tuple[int, LabelIn, str]] = []
    for i, item in validate_items(LabelIn, items, "labels", result, now):
        tenant = _tenant_of(key, item.tenant, i, "labels", result)
        if tenant is not None:
            good.append((i, item, tenant))
    if not good:
        return result
    with services.db.write_session() as session:
        refs = store.list_request_refs(
            session=session, request_ids=[item.request_id for _, item, _ in good], tenant=key.tenant
        )
        for _, item, tenant in good:
            ref = _resolve(refs, item.request_id, tenant)
            row = {
                "tenant": ref.tenant if ref else tenant,
                "request_id": item.request_id,
                "labeller": item.labeller,
                "label": item.label,
                "category": item.category,
                "note": item.note,
                "source": "api",
                "ts_ms": _ms(item.timestamp or now),
                "received_ms": _ms(now),
                "intent": ref.intent if ref else None,
                "prompt_version": ref.prompt_version if ref else None,
            }
            _count(result, store.upsert_label(session=session, row=row, now=now))
    return result


def store_run(
    services: Services, run: Any, items: Sequence[Any], *, now: datetime
) -> tuple[SignalResult, RunIn | None]:
    """Store an offline run and its cases; a resent run adds only the cases it did not hold yet."""
    result = SignalResult()
    runs = list(validate_items(RunIn, [run], "run", result, now))
    if not runs:
        result.errors = [e.model_copy(update={"field": e.field.replace("run[0]", "run")}) for e in result.errors]
        result.rejected = 0
        return result, None
    header = runs[0][1]
    cases: dict[str, dict[str, Any]] = {}
    for i, case in validate_items(ResultIn, items, "results", result, now):
        if case.case_id in cases:
            result.reject(i, f"results[{i}].case_id", f"case '{case.case_id}' appears twice in this run")
            continue
        cases[case.case_id] = case.model_dump()
    with services.db.write_session() as session:
        stored, known = store.get_or_create_run(
            session=session,
            run={
                "suite": header.suite,
                "started_at_ms": _ms(header.started_at),
                "prompt_version": header.prompt_version,
                "model": header.model,
            },
            now=now,
        )
        fresh = [c for cid, c in cases.items() if cid not in known]
        store.add_results(session=session, run_id=int(stored.id or 0), results=fresh)
    result.accepted = len(fresh)
    result.duplicates = len(cases) - len(fresh)
    return result, header


def _count(result: SignalResult, outcome: str) -> None:
    if outcome == "accepted":
        result.accepted += 1
    elif outcome == "duplicate":
        result.duplicates += 1
    else:
        result.updated += 1
