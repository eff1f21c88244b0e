"""The labelling flow as plain functions: start a batch, record a verdict, a category or a note, show full text.

Slack listeners (bot/evals/slack.py) only parse clicks and call these. Every change is stored with its
audit line, then the item card and the batch summary are re-rendered in place through the outbox.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.access import AccessChecker
from bot.cards.blocks import Card
from bot.errors import PermissionDenied, UserError
from bot.evals import cards
from bot.evals.sampling import plan_batch
from bot.services import Services
from bot.slack.post import post_card, update_card
from storage import evals as store
from storage.evals_models import EvalBatch, EvalBatchItem
from storage.models import LLMRequest, RequestBody

log = logging.getLogger(__name__)


def start_batch(services: Services, now: datetime, *, seed: int | None = None) -> tuple[EvalBatch, int]:
    """Draw this week's sample into a batch and post it (summary first, then one card per item)."""
    cfg = services.settings.file.evals
    seed = int(now.timestamp()) if seed is None else seed
    tenant_channels = services.settings.file.channels.tenant_channels
    with services.db.session() as session:
        batch, items = plan_batch(session, cfg, now=now, seed=seed, tenant_channels=tenant_channels)
    with services.db.write_session() as session:
        batch = store.create_batch(session=session, batch=batch, items=items)
        if cfg.channel:
            post_card(
                session=session,
                channel=cfg.channel,
                card=cards.batch_card(batch, items, {}),
                now=now,
                card_key=cards.batch_key(int(batch.id or 0)),
            )
            for item in items:
                view = _item_view(session, item, len(items), [])
                post_card(
                    session=session,
                    channel=cfg.channel,
                    card=cards.item_card(view, cfg.categories),
                    now=now,
                    card_key=cards.item_key(int(item.id or 0)),
                )
        else:
            log.warning("evals batch %s stored but not posted: [evals].channel is not set", batch.id)
    services.wake_outbox.set()
    return batch, len(items)


def _item_view(session: Session, item: EvalBatchItem, batch_items: int, labels: list[Any]) -> cards.ItemView:
    row = session.execute(
        select(LLMRequest, RequestBody)
        .outerjoin(RequestBody, RequestBody.id == LLMRequest.id)
        .where(LLMRequest.id == item.row_id)
    ).first()
    request, body = (row[0], row[1]) if row else (None, None)
    prompt = orjson.loads(body.prompt) if body and body.prompt else {}
    docs = orjson.loads(body.context) if body and body.context else []
    return cards.ItemView(
        item=item,
        batch_items=batch_items,
        request=request,
        docs=len(docs),
        turns=len(prompt.get("messages") or []),
        body_purged=body is None,
        labels=labels,
    )


def may_label(services: Services, access: AccessChecker, user: str) -> bool:
    """Members of ``[evals].labellers``; with no group configured nobody is trusted with full text, anyone labels."""
    group = services.settings.file.evals.labellers
    return group is None or access.in_group(user, group)


def _load_item(session: Session, item_id: int, channel: str) -> tuple[EvalBatchItem, EvalBatch]:
    found = store.get_batch_item(session=session, item_id=item_id)
    if found is None:
        raise UserError("this labelling item no longer exists")
    item, batch = found
    if channel and batch.channel and channel != batch.channel:
        raise UserError("this item belongs to a batch posted in another channel")
    return item, batch


def record(services: Services, access: AccessChecker, **kwargs: Any) -> str:
    """Store one person's verdict, category or note on an item ('accepted', 'updated' or 'duplicate').

    Two quick clicks by one person on a fresh item can both try to create the label; the loser of
    that race tries once more and then finds the row to update.
    """
    try:
        return _record(services, access, **kwargs)
    except IntegrityError:
        return _record(services, access, **kwargs)


def _record(
    services: Services,
    access: AccessChecker,
    *,
    user: str,
    channel: str,
    item_id: int,
    now: datetime,
    label: str | None = None,
    category: str | None = None,
    note: str | None = None,
) -> str:
    cfg = services.settings.file.evals
    if not may_label(services, access, user):
        raise PermissionDenied("only members of the labellers group ([evals].labellers) can label")
    if label is not None and label not in cards.LABELS:
        raise UserError(f"unknown label '{label}'")
    if category is not None and category not in cfg.categories:
        raise UserError(f"'{category}' is not one of the categories in [evals].categories")
    with services.db.write_session() as session:
        item, batch = _load_item(session, item_id, channel)
        existing = store.get_label(session=session, tenant=item.tenant, request_id=item.request_id, labeller=user)
        if existing is None and label is None:
            label = "fail" if category else "unsure"  # a category or note first: the verdict follows
        ms = int(now.timestamp() * 1000)
        row = {
            "tenant": item.tenant,
            "request_id": item.request_id,
            "labeller": user,
            "label": label,
            "category": category,
            "note": note,
            "source": "slack",
            "ts_ms": ms,
            "received_ms": ms,
            "intent": item.intent,
            "prompt_version": item.prompt_version,
        }
        outcome = store.upsert_label(session=session, row=row, now=now, keep=("label", "category", "note"))
        if outcome != "duplicate":
            session.flush()
            # Another click may have changed this label while ours waited for the row: re-read rather
            # than render the copy this session loaded before it.
            session.expire_all()
            _refresh(session, services, item, batch, now)
    services.wake_outbox.set()
    return outcome


def _refresh(session: Session, services: Services, item: EvalBatchItem, batch: EvalBatch, now: datetime) -> None:
    """Re-render the item card and the batch summary with the labels as they now stand."""
    items = store.list_batch_items(session=session, batch_id=int(batch.id or 0))
    labels = store.list_item_labels(session=session, items=items)
    view = _item_view(session, item, len(items), labels.get(int(item.id or 0), []))
    categories = services.settings.file.evals.categories
    update_card(
        session=session, card_key=cards.item_key(int(item.id or 0)), card=cards.item_card(view, categories), now=now
    )
    update_card(
        session=session,
        card_key=cards.batch_key(int(batch.id or 0)),
        card=cards.batch_card(batch, items, labels),
        now=now,
    )


def full_text(services: Services, access: AccessChecker, *, user: str, channel: str, item_id: int) -> Card:
    """The item's prompt, context and answer, for members of the labellers group only."""
    group = services.settings.file.evals.labellers
    if group is None or not access.in_group(user, group):
        raise PermissionDenied("the full text is shown only to the labellers group ([evals].labellers)")
    with services.db.session() as session:
        item, _ = _load_item(session, item_id, channel)
        body = session.get(RequestBody, item.row_id)
    prompt = orjson.loads(body.prompt) if body and body.prompt else {}
    triple = {
        "body_purged": body is None,
        "system": prompt.get("system"),
        "turns": [(m.get("role", "?"), m.get("content", "")) for m in prompt.get("messages") or []],
        "docs": orjson.loads(body.context) if body and body.context else [],
        "response": body.response if body else None,
    }
    return cards.full_card(item, triple)


def note_dialog(services: Services, access: AccessChecker, *, user: str, channel: str, item_id: int) -> dict[str, Any]:
    """The note modal, pre-filled with the person's current note on the item."""
    if not may_label(services, access, user):
        raise PermissionDenied("only members of the labellers group ([evals].labellers) can label")
    with services.db.session() as session:
        item, _ = _load_item(session, item_id, channel)
        existing = store.get_label(session=session, tenant=item.tenant, request_id=item.request_id, labeller=user)
    return cards.note_modal(item, existing.note if existing else None, channel)
