"""Spans kept for the retrieval join: retrievals with their documents, model calls with their request id.

Kept in the database, not in a replica's memory: the retrieval and the model call of one
trace may reach different replicas, in different export batches.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class OtlpSpan(SQLModel, table=True):
    __tablename__ = "otlp_spans"
    __table_args__ = (
        UniqueConstraint("tenant", "trace_id", "span_id", name="uq_otlp_spans_span"),
        Index("ix_otlp_spans_trace", "trace_id"),
        Index("ix_otlp_spans_received", "received_ms"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=128)
    trace_id: str = Field(max_length=32)
    span_id: str = Field(max_length=16)
    kind: str = Field(max_length=16, description="llm | retrieval")
    start_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    end_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    request_id: str | None = Field(default=None, max_length=200, description="the model call's stored request")
    docs: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
