"""Tables of the leak capability: canaries, learned document owners, scan hits, a fingerprint version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


class LeakCanary(SQLModel, table=True):
    """A canary string planted in one tenant's data; only its hash is kept, like an API key."""

    __tablename__ = "leak_canaries"

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=128)
    prefix: str = Field(max_length=16, description="the first characters, so a person can recognise it")
    canary_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LeakDocDay(SQLModel, table=True):
    """How often a context document was served to a tenant on one UTC date, until its owner is settled."""

    __tablename__ = "leak_doc_days"

    doc_id: str = Field(primary_key=True, max_length=200)
    tenant: str = Field(primary_key=True, max_length=128)
    day: int = Field(primary_key=True, description="days since 1970-01-01 (UTC)")
    n: int = Field(default=0, sa_type=BigInteger)


class LeakDocOwner(SQLModel, table=True):
    """What traffic taught about a document: its one owner, or '' when several tenants were served it first."""

    __tablename__ = "leak_doc_owners"

    doc_id: str = Field(primary_key=True, max_length=200)
    tenant: str = Field(max_length=128, description="the owner; '' = shared, never owned")
    requests: int = Field(sa_type=BigInteger)
    days: int
    since: datetime = Field(sa_type=UTCDateTime)


class LeakHit(SQLModel, table=True):
    """One request that carried another tenant's fingerprint, written by the scan at ingest."""

    __tablename__ = "leak_hits"
    __table_args__ = (Index("ix_leak_hits_received", "received_ms"),)

    id: int | None = Field(default=None, primary_key=True)
    received_ms: int = Field(sa_type=BigInteger)
    ts_ms: int = Field(sa_type=BigInteger)
    tenant: str = Field(max_length=128, description="the tenant whose traffic carried the data")
    source_tenant: str = Field(max_length=128, description="the tenant the data belongs to")
    cause: str = Field(max_length=32, description="canary, identifier or foreign_document")
    request_id: str = Field(max_length=200)
    part: str = Field(max_length=16, description="prompt, context or response")
    span: str = Field(max_length=300, description="the matched text (a doc_id for foreign_document)")
    path: str = Field(default="", max_length=128)
    prompt_version: str = Field(default="", max_length=128)
    model: str = Field(default="", max_length=200)


class LeakState(SQLModel, table=True):
    """One row whose version changes with the fingerprints, so every ingesting process reloads at once."""

    __tablename__ = "leak_state"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_type=BigInteger)
