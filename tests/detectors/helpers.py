"""Reading back what the kernel stored and delivered."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlalchemy import func, inspect, select, text
from sqlmodel import SQLModel

from bot.detectors import Finding, run_detectors
from bot.services import Services
from storage.alarms import DetectorAlarm
from storage.alerts_models import Alert
from storage.models import OutboxMessage
from tests.detectors.scripted import T0


def run(services: Services, minute: int, *, only: tuple[str, ...] = ("scripted",), dry: bool = False) -> list[Finding]:
    """One evaluation ``minute`` minutes after T0, as the scheduler would run it."""
    return run_detectors(services, T0 + timedelta(minutes=minute), only=list(only), dry_run=dry)


def alerts(services: Services) -> list[Alert]:
    with services.db.session() as session:
        return list(session.scalars(select(Alert).where(Alert.source == "afterlaunch").order_by(Alert.id)))


def alarms(services: Services) -> dict[str, DetectorAlarm]:
    with services.db.session() as session:
        return {a.key: a for a in session.scalars(select(DetectorAlarm))}


def card_messages(services: Services, card_key: str) -> list[str]:
    """The kinds of outbox messages (post, update) for one card, in order."""
    with services.db.session() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.card_key == card_key).order_by(OutboxMessage.id)
        )
        return [m.kind for m in rows]


def members(alert: Alert) -> list[str]:
    return orjson.loads(alert.members)


def row_counts(services: Services) -> dict[str, int]:
    """Rows in every table of the schema, for "writes nothing at all"."""
    with services.db.engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())
        names = [t.name for t in SQLModel.metadata.sorted_tables if t.name in existing]
        return {n: conn.execute(select(func.count()).select_from(text(f'"{n}"'))).scalar_one() for n in names}
