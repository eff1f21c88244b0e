"""Latency test builders: modelled traffic folded into the rollups exactly as ingestion folds it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.latency.config import LatencyConfig
from bot.services import Services
from storage import rollups

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def write_rows(services: Services, rows: Iterable[dict[str, Any]], chunk: int = 20_000) -> int:
    """Fold request rows into minute and hour rollups; returns how many were written."""
    batch: list[dict[str, Any]] = []
    n = 0
    with services.db.write_session() as session:
        conn = session.connection()
        for r in rows:
            batch.append(r)
            if len(batch) >= chunk:
                rollups.add_requests(conn, batch)
                n += len(batch)
                batch = []
        if batch:
            rollups.add_requests(conn, batch)
            n += len(batch)
    return n


def configure(services: Services, **latency: Any) -> LatencyConfig:
    """Set the ``[latency]`` section as if read from the TOML file (validated the same way)."""
    cfg = LatencyConfig.model_validate(latency)
    services.settings.file = services.settings.file.model_copy(update={"latency": cfg})
    return cfg
