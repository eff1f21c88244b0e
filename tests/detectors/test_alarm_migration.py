"""Open cost and refusal alarms survive the move to the kernel's table, and resolve correctly later."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from bot.config import load_settings
from bot.detectors import open_alarms, run_detectors
from bot.services import build_services
from storage.engine import connect
from storage.migrate import current, head_revision, upgrade
from storage.models import UTCDateTime
from tests.conftest import PG_DSN, pg_url

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
COST_KEY = "cost_burn:tenant=acme"
SHIFT_KEY = "refusal_shift:category=billing:1763629200"

cost_alarms = sa.table(
    "cost_alarms",
    *(sa.column(n) for n in ("key", "status", "severity", "labels", "attribution")),
    *(sa.column(n, UTCDateTime) for n in ("started_at", "updated_at", "attributed_at")),
)
refusal_alarms = sa.table(
    "refusal_alarms",
    *(sa.column(n) for n in ("scope", "finding_key", "labels")),
    *(sa.column(n, UTCDateTime) for n in ("started_at", "fired_at", "updated_at")),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, not migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("pg_schema")  # skips (or fails under CI) when PostgreSQL is unreachable
    schema = f"afl_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield pg_url(schema)
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _old_schema_with_open_alarms(url: str) -> None:
    db = connect(url)
    upgrade(db.write_engine, "0005")
    upgrade(db.write_engine, "0006")
    labels = {"detector": "cost_burn", "cause": "noisy_tenant", "tenant": "acme"}
    with db.write_engine.begin() as conn:
        conn.execute(
            sa.insert(cost_alarms),
            [
                {
                    "key": COST_KEY, "status": "firing", "severity": "critical", "labels": json.dumps(labels),
                    "attribution": json.dumps({"cause": "noisy_tenant", "ranking": [], "dominant": {}}),
                    "started_at": T0, "updated_at": T0 + timedelta(minutes=5), "attributed_at": T0,
                },
                {
                    "key": "cost_burn:tenant=old", "status": "resolved", "severity": "medium", "labels": "{}",
                    "attribution": "{}", "started_at": T0 - timedelta(days=2), "updated_at": T0 - timedelta(days=1),
                    "attributed_at": None,
                },
            ],
        )  # fmt: skip
        conn.execute(
            sa.insert(refusal_alarms),
            [
                {
                    "scope": "category=billing", "finding_key": SHIFT_KEY,
                    "labels": json.dumps({"category": "billing", "model": "gpt-4o-mini-2026-11-20"}),
                    "started_at": T0 - timedelta(hours=3), "fired_at": T0, "updated_at": T0 + timedelta(minutes=5),
                }
            ],
        )  # fmt: skip
    db.dispose()


def test_open_alarms_stay_open_through_the_migration_and_resolve_later(fresh_url: str, tmp_path: Path) -> None:
    _old_schema_with_open_alarms(fresh_url)
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=fresh_url,
        config_file=tmp_path / "none.toml",
        secret_key="test-secret-key-for-hashing",
        scheduler=False,
    )
    services = build_services(settings)  # migrates to the heads on start, as a deploy would
    try:
        assert current(services.db.engine) == head_revision()
        cost = open_alarms(services, "cost_burn")
        assert list(cost) == [COST_KEY]  # the resolved one stays history, not an open alarm
        assert cost[COST_KEY].started_at == T0 and cost[COST_KEY].labels["tenant"] == "acme"
        shifts = open_alarms(services, "refusal_shift")
        assert list(shifts) == [SHIFT_KEY] and shifts[SHIFT_KEY].memo == {"scope": "category=billing"}

        # Later, the burn and the shift are over (no traffic at all): each resolves, on its own key and start.
        later = T0 + timedelta(minutes=30)
        [burn] = run_detectors(services, later, only=["cost_burn"])
        assert (burn.key, burn.status, burn.started_at) == (COST_KEY, "resolved", T0)
        assert burn.title == "Spend burn stopped: tenant=acme"
        [shift] = run_detectors(services, later, only=["refusal_shift"])
        assert (shift.key, shift.status) == (SHIFT_KEY, "resolved")
        assert shift.labels["category"] == "billing" and "back near its baseline" in shift.title
        assert open_alarms(services, "cost_burn") == {} and open_alarms(services, "refusal_shift") == {}
        assert run_detectors(services, later + timedelta(minutes=1), only=["cost_burn", "refusal_shift"]) == []
    finally:
        services.close()
