"""Tables of the evals capability: user feedback, offline suite runs, production labels and labelling batches.

Feedback and labels keep their own time (``ts_ms``: the client's timestamp, else receipt) and the
intent of the request they are about, copied once the request is known. Feedback can arrive before
its request: then ``intent`` stays NULL and queries join it to the requests table until a job fills it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


class EvalFeedback(SQLModel, table=True):
    """One end user's verdict on one logged request; resending it changes nothing."""

    __tablename__ = "eval_feedback"
    __table_args__ = (
        UniqueConstraint("tenant", "request_id", "user_key", name="uq_eval_feedback_item"),
        Index("ix_eval_feedback_ts", "ts_ms", "intent", "tenant", "positive", "neutral"),  # covers the counts
        Index("ix_eval_feedback_unjoined", "intent", "request_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(default="", max_length=128, description="'' when an unbound key sent no tenant")
    request_id: str = Field(max_length=200)
    user_key: str = Field(default="", max_length=64, description="hashed user id, '' when none was sent")
    score: int | None = Field(default=None, description="1, -1 or 0 when sent as a score")
    value: float | None = Field(default=None, sa_type=Float, description="a rating in [0, 1] when sent so")
    positive: bool = Field(description="score 1 or value >= 0.5")
    neutral: bool = Field(default=False, description="score 0: counted in neither rate")
    comment: str | None = Field(default=None, sa_type=Text)
    ts_ms: int = Field(sa_type=BigInteger)
    received_ms: int = Field(sa_type=BigInteger)
    intent: str | None = Field(default=None, max_length=128, description="NULL until the request is known")
    prompt_version: str | None = Field(default=None, max_length=128)


class EvalRun(SQLModel, table=True):
    """One run of an offline eval suite; (suite, started_at) identifies it, so a resend is a duplicate."""

    __tablename__ = "eval_runs"
    __table_args__ = (UniqueConstraint("suite", "started_at_ms", name="uq_eval_runs_suite_start"),)

    id: int | None = Field(default=None, primary_key=True)
    suite: str = Field(max_length=128)
    started_at_ms: int = Field(sa_type=BigInteger)
    prompt_version: str | None = Field(default=None, max_length=128)
    model: str | None = Field(default=None, max_length=200)
    received_at: datetime = Field(sa_type=UTCDateTime)


class EvalResult(SQLModel, table=True):
    """One case of one offline run."""

    __tablename__ = "eval_results"
    __table_args__ = (UniqueConstraint("run_id", "case_id", name="uq_eval_results_case"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="eval_runs.id", ondelete="CASCADE")
    case_id: str = Field(max_length=200)
    intent: str = Field(max_length=128)
    passed: bool
    score: float | None = Field(default=None, sa_type=Float)


class EvalLabel(SQLModel, table=True):
    """One labeller's verdict on one production request: one row per (request, labeller), changed in place."""

    __tablename__ = "eval_labels"
    __table_args__ = (
        UniqueConstraint("tenant", "request_id", "labeller", name="uq_eval_labels_item"),
        Index("ix_eval_labels_ts", "ts_ms", "intent", "tenant", "label"),  # covers the counts
        Index("ix_eval_labels_request", "request_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(default="", max_length=128)
    request_id: str = Field(max_length=200)
    labeller: str = Field(max_length=128)
    label: str = Field(max_length=8, description="pass, fail or unsure")
    category: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, sa_type=Text)
    source: str = Field(default="api", max_length=8, description="api or slack")
    ts_ms: int = Field(sa_type=BigInteger)
    received_ms: int = Field(sa_type=BigInteger)
    intent: str | None = Field(default=None, max_length=128)
    prompt_version: str | None = Field(default=None, max_length=128)


class EvalLabelChange(SQLModel, table=True):
    """The audit trail: every change of a label (who, when, from what to what)."""

    __tablename__ = "eval_label_changes"

    id: int | None = Field(default=None, primary_key=True)
    label_id: int = Field(foreign_key="eval_labels.id", ondelete="CASCADE", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    field: str = Field(max_length=16, description="label, category or note")
    old: str | None = Field(default=None, sa_type=Text)
    new: str | None = Field(default=None, sa_type=Text)


class EvalBatch(SQLModel, table=True):
    """A labelling batch: a seeded stratified sample posted to the labelling channel."""

    __tablename__ = "eval_batches"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    window_start_ms: int = Field(sa_type=BigInteger)
    window_end_ms: int = Field(sa_type=BigInteger)
    seed: int = Field(sa_type=BigInteger)
    channel: str = Field(max_length=64)
    items: int = Field(default=0)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EvalBatchItem(SQLModel, table=True):
    """One sampled request in a batch, with what the card needs without reading the request again."""

    __tablename__ = "eval_batch_items"
    __table_args__ = (UniqueConstraint("batch_id", "row_id", name="uq_eval_batch_items_row"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="eval_batches.id", ondelete="CASCADE", index=True)
    position: int
    row_id: int = Field(sa_type=BigInteger, description="requests.id")
    tenant: str = Field(max_length=128)
    request_id: str = Field(max_length=200)
    intent: str = Field(max_length=128)
    prompt_version: str = Field(max_length=128)
