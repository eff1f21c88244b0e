"""Shared fixtures. Storage-facing tests run twice: on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from bot.config import Settings, load_settings
from bot.services import Services, build_services
from storage import keys as key_store
from storage.engine import Database, connect
from storage.migrate import upgrade
from tests.fake_slack import FakeSlack
from tests.fake_slack import fake_slack as _fake_slack
from tests.slack_requests import SIGNING_SECRET

PG_DSN = os.environ.get("AFTERLAUNCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

fake_slack = pytest.fixture(_fake_slack, name="fake_slack")


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A private schema on the PostgreSQL test server, migrated once per test session."""
    problem = _pg_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_DSN} is unreachable under CI=true: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    schema = f"afl_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    db = connect(pg_url(schema))
    upgrade(db.write_engine)
    db.dispose()
    yield schema
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def pg_url(schema: str) -> str:
    return f"{PG_DSN.replace('postgresql://', 'postgresql+psycopg://')}?options=-csearch_path%3D{schema}"


def _truncate(db: Database) -> None:
    with db.engine.begin() as conn:
        existing = set(inspect(conn).get_table_names())
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables if t.name in existing)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'afterlaunch.db'}"
        db = connect(url)
        upgrade(db.write_engine)
        db.dispose()
        yield url
    else:
        schema = request.getfixturevalue("pg_schema")
        url = pg_url(schema)
        db = connect(url)
        _truncate(db)
        db.dispose()
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        config_file=tmp_path / "afterlaunch.toml",
        secret_key="test-secret-key-for-hashing",
        run_migrations=False,
        scheduler=False,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    s = build_services(settings)
    yield s
    s.close()


@pytest.fixture
def db(services: Services) -> Database:
    return services.db


@pytest.fixture
def slack_settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    """Slack mode against the Web API stand-in; requests are signed with SIGNING_SECRET."""
    return settings.model_copy(
        update={
            "slack_bot_token": SecretStr(fake_slack.token),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": fake_slack.api_url,
        }
    )


@pytest.fixture
def slack_services(slack_settings: Settings) -> Iterator[Services]:
    s = build_services(slack_settings)
    yield s
    s.close()


def make_key(services: Services, *, tenant: str | None = None, scopes: set[str] | None = None) -> str:
    with services.db.write_session() as session:
        _, raw = key_store.create_key(
            session=session,
            name=f"test-{uuid.uuid4().hex[:6]}",
            tenant=tenant,
            scopes=scopes or {"ingest", "read"},
            now=datetime.now(UTC),
        )
    return raw
