"""One bad event or alert never fails its batch, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.alerts.model import AlertIn
from bot.alerts.service import receive
from bot.ingest import service
from bot.ingest.service import Writer, ingest
from bot.services import Services
from storage.alerts import get_by_fingerprint
from storage.models import LLMRequest
from tests.ingest.factory import event

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _batch(size: int, prefix: str = "poison") -> list[dict[str, Any]]:
    ts = (NOW - timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
    return [event(request_id=f"req_{prefix}_{i:05d}", timestamp=ts) for i in range(size)]


def _stored(services: Services) -> int:
    with services.db.session() as session:
        return int(session.exec(select(func.count()).select_from(LLMRequest)).one()[0])


def test_a_nul_in_one_event_of_a_thousand_stores_the_other_999(services: Services) -> None:
    events = _batch(1000)
    events[617]["prompt"]["messages"][0]["content"] = "please \x00 help"
    result = ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=NOW)
    assert (result.accepted, result.rejected, result.duplicates) == (999, 1, 0)
    assert [e.field for e in result.errors] == ["events[617].prompt.messages[0].content"]
    assert _stored(services) == 999


def test_a_row_the_database_refuses_is_split_out(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past validation: the database itself refuses one row; the batch is split down to it.

    A NULL in a NOT NULL column is refused by both databases; a NUL only by PostgreSQL.
    """
    poisons = ["not_null"] if services.db.is_sqlite else ["not_null", "nul"]
    real = service.to_rows
    for round_, poison in enumerate(poisons):

        def poisoned(ev: Any, raw: Any, cfg: Any, poison: str = poison, **kw: Any) -> tuple[dict, dict]:
            row, body = real(ev, raw, cfg, **kw)
            if ev.request_id.endswith("_00333"):
                if poison == "not_null":
                    row["received_ms"] = None
                else:
                    row["intent"] = "bill\x00ing"
            return row, body

        monkeypatch.setattr(service, "to_rows", poisoned)
        batch = _batch(1000, prefix=poison)
        result = ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=NOW)
        assert (result.accepted, result.rejected, result.duplicates) == (999, 1, 0)
        assert [e.index for e in result.errors] == [333]
        assert "database refused" in result.errors[0].message
        assert _stored(services) == 999 * (round_ + 1)
        again = ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=NOW)
        assert (again.accepted, again.duplicates, again.rejected) == (0, 999, 1)


def test_one_refused_alert_does_not_hold_back_the_others(services: Services) -> None:
    def alert(i: int, title: str, severity: Any = "low") -> AlertIn:
        return AlertIn(
            source="generic",
            fingerprint=f"generic:poison-{i}",
            status="firing",
            title=title,
            severity=severity,
            labels={},
            starts_at=NOW,
        )

    # What each database refuses past validation: a NULL severity on SQLite, a NUL on PostgreSQL.
    bad = alert(9, "disk 9", None) if services.db.is_sqlite else alert(9, "disk\x00full")
    alerts = [alert(i, f"disk {i}") for i in range(9)] + [bad]
    results = receive(services, alerts, NOW)
    assert [r.action for r in results].count("rejected") == 1
    assert results[-1].action == "rejected"
    assert {r.fingerprint for r in results if r.action != "rejected"} == {f"generic:poison-{i}" for i in range(9)}
    with services.db.session() as session:
        assert all(get_by_fingerprint(session=session, fingerprint=f"generic:poison-{i}") for i in range(9))
        assert get_by_fingerprint(session=session, fingerprint="generic:poison-9") is None
