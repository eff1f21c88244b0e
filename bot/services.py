"""Everything a request handler or job needs, built once from the settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from bot.config import Settings
from bot.ingest.pricing import PriceTable
from bot.ingest.service import IngestConfig
from bot.refusals.signal import patterns_from_config
from storage.engine import Database, connect
from storage.migrate import upgrade


@dataclass
class Services:
    settings: Settings
    db: Database
    ingest: IngestConfig
    wake_outbox: threading.Event = field(default_factory=threading.Event, repr=False)
    """Set after storing a message so the sender does not wait for its next tick."""
    wake_text_index: threading.Event = field(default_factory=threading.Event, repr=False)
    """Set after storing events so the text indexer does not wait for its next tick."""

    def close(self) -> None:
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    """Connect, migrate (when enabled) and load the price table; fails fast on a bad setting."""
    db = connect(settings.db_url)
    if settings.run_migrations:
        upgrade(db.write_engine)
    refusals = settings.file.refusals
    ingest = IngestConfig(
        prices=PriceTable.load(settings.file.prices),
        secret_key=settings.resolve_secret_key(),
        refusal_patterns=patterns_from_config(refusals.extra_patterns, refusals.disable_patterns),
        max_age=timedelta(days=settings.retention_days),
    )
    return Services(settings=settings, db=db, ingest=ingest)
