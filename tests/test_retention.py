from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.ingest.service import Writer, ingest
from bot.retention import purge_expired
from bot.services import Services
from storage.models import LLMRequest, RequestBody, RollupHour, RollupMinute
from tests.ingest.factory import event

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def count(services: Services, model: type) -> int:
    with services.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_bodies_go_after_30_days_and_aggregates_after_13_months(services: Services) -> None:
    ages = {"fresh": 1, "old": 45, "ancient": 400}
    # Each event is ingested when it was recent (ingest refuses events older than the retention).
    for name, d in ages.items():
        then = NOW - timedelta(days=d)
        ev = event(request_id=name, timestamp=then.isoformat())
        assert ingest(services.db, [ev], cfg=services.ingest, writer=Writer(None, None), now=then).accepted == 1
    purged = purge_expired(services, NOW)
    assert purged["bodies"] == 2  # old (then ancient, whose request went too)
    with services.db.session() as s:
        kept_bodies = set(s.scalars(select(LLMRequest.request_id).join(RequestBody, RequestBody.id == LLMRequest.id)))
        kept_requests = set(s.scalars(select(LLMRequest.request_id)))
        hour_buckets = list(s.scalars(select(RollupHour.bucket)))
        minute_buckets = list(s.scalars(select(RollupMinute.bucket)))
    assert kept_bodies == {"fresh"}
    assert kept_requests == {"fresh", "old"}  # metadata of 'old' stays for the rollup retention
    assert len(hour_buckets) == 2  # fresh and old
    assert len(minute_buckets) == 1  # minute rows live 35 days; hourly rows cover the rest
    assert purge_expired(services, NOW) == {"bodies": 0, "requests": 0, "rollup_minute": 0, "rollup_hour": 0}


def text_hits(services: Services, word: str) -> int:
    """Answers the text search finds for one word (SQLite: the indexer caught up first)."""
    if services.db.text_index is not None:
        services.db.text_index.catch_up()
        sql, args = "SELECT count(*) FROM request_fts WHERE request_fts MATCH ?", (word,)
    else:
        sql = "SELECT count(*) FROM request_bodies WHERE to_tsvector('simple', coalesce(response, '')) @@ %s::tsquery"
        args = (word,)
    with services.db.session() as s:
        return s.connection().exec_driver_sql(sql, args).scalar()


def test_purged_bodies_leave_the_text_index(services: Services) -> None:
    e = event(request_id="old", timestamp=(NOW - timedelta(days=40)).isoformat(), response="zanzibar quokka")
    kept = event(request_id="new", timestamp=(NOW - timedelta(days=2)).isoformat(), response="another quokka")
    ingest(services.db, [e, kept], cfg=services.ingest, writer=Writer(None, None), now=NOW)
    assert text_hits(services, "quokka") == 2
    assert text_hits(services, "zanzibar") == 1
    purge_expired(services, NOW)
    assert text_hits(services, "zanzibar") == 0
    assert text_hits(services, "quokka") == 1
    assert count(services, RequestBody) == 1
