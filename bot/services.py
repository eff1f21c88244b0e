"""Everything a request handler or job needs, built once from the settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.capabilities import installed
from bot.config import Settings
from storage.engine import Database, connect
from storage.migrate import upgrade

if TYPE_CHECKING:
    from bot.ingest.service import IngestConfig


@dataclass
class Services:
    settings: Settings
    db: Database
    ingest: IngestConfig = None  # type: ignore[assignment]
    """Prices, the user-id key and refusal patterns; set by the ingest capability's ``setup``."""
    wake_outbox: threading.Event = field(default_factory=threading.Event, repr=False)
    """Set after storing a message so the sender does not wait for its next tick."""
    wake_text_index: threading.Event = field(default_factory=threading.Event, repr=False)
    """Set after storing events so the text indexer does not wait for its next tick."""

    def close(self) -> None:
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    """Connect, migrate (when enabled) and let each capability prepare what it needs; fails fast on a bad setting."""
    db = connect(settings.db_url)
    if settings.run_migrations:
        upgrade(db.write_engine)
    services = Services(settings=settings, db=db)
    for capability in installed():
        if capability.setup is not None:
            capability.setup(services)
    return services
