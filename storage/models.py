"""Tables. Hot-path tables keep time as integer epoch milliseconds / seconds:
they are written thousands of times a second and compared by range, and an
integer is the same on SQLite and PostgreSQL. Everything else uses
timezone-aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Float, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in, timezone-aware out, stored as UTC on both databases.

    SQLite keeps no offset and hands back naive values; comparing those with
    aware ones fails, and a naive value going in would be a bug: refuse it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass timezone-aware values (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


COHORT_DIMENSIONS = ("tenant", "intent", "category", "path", "prompt_version", "model", "api_key_id")
"""The dimensions every rollup row is keyed by; an absent value is stored as ''."""


class IngestKey(SQLModel, table=True):
    __tablename__ = "ingest_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, description="shown in listings so a key can be recognised")
    key_hash: str = Field(max_length=64, unique=True)
    tenant: str | None = Field(default=None, max_length=128)
    scopes: str = Field(default="ingest,read", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def scope_set(self) -> set[str]:
        return {s for s in self.scopes.split(",") if s}


class LLMRequest(SQLModel, table=True):
    """One logged LLM request: the versions half of the triple and the figures."""

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("request_id", "tenant", name="uq_requests_request_id_tenant"),
        Index("ix_requests_ts", "ts_ms"),
        Index("ix_requests_tenant_ts", "tenant", "ts_ms"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    tenant: str = Field(max_length=128)
    request_id: str = Field(max_length=200)
    ts_ms: int = Field(sa_type=BigInteger)
    received_ms: int = Field(sa_type=BigInteger)
    intent: str = Field(default="", max_length=128)
    category: str = Field(default="", max_length=128)
    path: str = Field(default="", max_length=128)
    session_id: str | None = Field(default=None, max_length=200)
    trace_id: str | None = Field(default=None, max_length=200)
    user_hash: str | None = Field(default=None, max_length=64)
    prompt_version: str = Field(max_length=128)
    model: str = Field(max_length=200)
    model_requested: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=100)
    system_fingerprint: str | None = Field(default=None, max_length=200)
    input_tokens: int = Field(default=0)
    output_tokens: int = Field(default=0)
    cached_tokens: int = Field(default=0)
    cost_usd: float | None = Field(default=None, sa_type=Float)
    cost_source: str = Field(max_length=16, description="client, price_table or unknown")
    latency_ms: float | None = Field(default=None, sa_type=Float)
    ttft_ms: float | None = Field(default=None, sa_type=Float)
    status: str = Field(default="ok", max_length=16)
    finish_reason: str | None = Field(default=None, max_length=64)
    refused: bool | None = Field(default=None)
    refusal_rule: str | None = Field(default=None, max_length=64, description="which rule decided `refused`")
    attempt: int = Field(default=1)
    parent_request_id: str | None = Field(default=None, max_length=200)
    agent_step: int | None = Field(default=None)
    api_key_id: str = Field(default="", max_length=200)
    client_ip: str | None = Field(default=None, max_length=64)
    labels: str | None = Field(default=None, sa_type=Text, description="JSON object of str -> str")
    ingest_key_id: int | None = Field(default=None)


class RequestBody(SQLModel, table=True):
    """The prompt-and-context half of the triple; purged after the body retention."""

    __tablename__ = "request_bodies"
    __table_args__ = (Index("ix_request_bodies_ts", "ts_ms"),)

    id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("requests.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    ts_ms: int = Field(sa_type=BigInteger)
    prompt: str | None = Field(default=None, sa_type=Text, description="JSON: {system, messages}")
    context: str | None = Field(default=None, sa_type=Text, description="JSON: [{doc_id, source, text, score}]")
    response: str | None = Field(default=None, sa_type=Text)


class RollupBase(SQLModel):
    bucket: int = Field(sa_type=BigInteger, description="epoch seconds at the start of the bucket")
    tenant: str = Field(max_length=128)
    intent: str = Field(max_length=128)
    category: str = Field(max_length=128)
    path: str = Field(max_length=128)
    prompt_version: str = Field(max_length=128)
    model: str = Field(max_length=200)
    api_key_id: str = Field(max_length=200)
    requests: int = Field(default=0, sa_type=BigInteger)
    input_tokens: int = Field(default=0, sa_type=BigInteger)
    output_tokens: int = Field(default=0, sa_type=BigInteger)
    cached_tokens: int = Field(default=0, sa_type=BigInteger)
    cost_usd: float = Field(default=0.0, sa_type=Float)
    unknown_cost: int = Field(default=0, description="requests whose model has no price")
    errors: int = Field(default=0)
    timeouts: int = Field(default=0)
    refusals: int = Field(default=0)
    retries: int = Field(default=0, description="requests with attempt > 1")
    latency_count: int = Field(default=0)
    latency_sum_ms: float = Field(default=0.0, sa_type=Float)
    latency_hist: str = Field(default="{}", sa_type=Text)
    ttft_hist: str = Field(default="{}", sa_column_kwargs={"server_default": "{}"}, sa_type=Text)


def _rollup_args(name: str) -> tuple:
    return (UniqueConstraint("bucket", *COHORT_DIMENSIONS, name=f"uq_{name}_cohort"),)


class RollupMinute(RollupBase, table=True):
    __tablename__ = "rollup_minute"
    __table_args__ = _rollup_args("rollup_minute")
    id: int | None = Field(default=None, primary_key=True)


class RollupHour(RollupBase, table=True):
    __tablename__ = "rollup_hour"
    __table_args__ = _rollup_args("rollup_hour")
    id: int | None = Field(default=None, primary_key=True)


class OutboxMessage(SQLModel, table=True):
    """Everything the bot would say in Slack, stored before it is said."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=16, description="post, update, ephemeral or dm")
    channel: str = Field(max_length=64)
    user: str | None = Field(default=None, max_length=64)
    card_key: str | None = Field(default=None, max_length=255, index=True)
    thread_key: str | None = Field(default=None, max_length=255)
    payload: str = Field(sa_type=Text, description="JSON: text and blocks")
    status: str = Field(default="pending", max_length=16, description="pending, sent, failed or local")
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    slack_ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=500)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SlackCard(SQLModel, table=True):
    """Where a card landed in Slack, so later changes update it in place."""

    __tablename__ = "slack_cards"

    card_key: str = Field(primary_key=True, max_length=255)
    channel: str = Field(max_length=64)
    ts: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SlackDedupe(SQLModel, table=True):
    """Keys of Slack deliveries already handled: retried events and double clicks act once."""

    __tablename__ = "slack_dedupe"

    key: str = Field(primary_key=True, max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class HomeViewer(SQLModel, table=True):
    """Users who opened the App Home: their Home is republished when its content changes."""

    __tablename__ = "home_viewers"

    user_id: str = Field(primary_key=True, max_length=32)
    opened_at: datetime = Field(sa_type=UTCDateTime)


class SlackPacing(SQLModel, table=True):
    """When a Slack channel or message may next be posted to or updated (``post:C…``, ``update:C…``, ``card:…``)."""

    __tablename__ = "slack_pacing"

    key: str = Field(primary_key=True, max_length=300)
    next_at: datetime = Field(sa_type=UTCDateTime)
