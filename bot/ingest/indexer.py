"""The text indexer: follows ingestion and indexes new answers for /triage, on its own core.

It also checkpoints the SQLite write-ahead logs every second, so that ingestion's commits
never do that copying while they hold the write lock.

Runs in every serving process on SQLite (the text index file's write lock makes concurrent
indexers take turns, and its progress row makes them share the work); on PostgreSQL the
server maintains its own index and there is nothing to run.
"""

from __future__ import annotations

import logging
import threading
import time

from bot import metrics
from bot.services import Services
from storage.textindex import BATCH

log = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0
"""How long an idle indexer sleeps when nobody wakes it (ingest does, after each stored batch)."""

ERROR_BACKOFF_S = 5.0

CHECKPOINT_EVERY_S = 1.0
"""How often the WAL files are copied back, off the writers' path (see ``TextIndex.checkpoint``)."""

GATHER_S = 0.2
"""After a partial batch, wait this long so the next transaction indexes more answers at once
(FTS5 writes a segment per transaction: fewer, larger ones merge less)."""


class TextIndexer:
    """A daemon thread that calls ``TextIndex.index_batch`` until nothing is pending, then waits."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.services.db.text_index is None:
            return
        self._thread = threading.Thread(target=self._run, name="afterlaunch-text-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.services.wake_text_index.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        index = self.services.db.text_index
        assert index is not None
        wake = self.services.wake_text_index
        checkpointed = time.monotonic()
        while not self._stop.is_set():
            wake.clear()
            try:
                n = index.index_batch()
                if time.monotonic() - checkpointed >= CHECKPOINT_EVERY_S:
                    index.checkpoint()
                    checkpointed = time.monotonic()
            except Exception:
                log.exception("text indexing failed; retrying in %.0f s", ERROR_BACKOFF_S)
                self._stop.wait(ERROR_BACKOFF_S)
                continue
            metrics.TEXT_INDEXED.inc(n)
            if n == 0:
                wake.wait(IDLE_WAIT_S)
            elif n < BATCH:
                self._stop.wait(GATHER_S)
