"""Tables of the cost capability: budgets set from Slack (with their audit), alarm state, provider costs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


class CostBudget(SQLModel, table=True):
    """A budget set from Slack; ``cohort`` is canonical JSON so one cohort and period has one row."""

    __tablename__ = "cost_budgets"
    __table_args__ = (UniqueConstraint("cohort", "period", name="uq_cost_budgets_cohort_period"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort: str = Field(max_length=1000, description='JSON: {"tenant": "acme"}; {} is all traffic')
    period: str = Field(max_length=8, description="day or month")
    usd: float = Field(sa_type=Float)
    set_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CostBudgetAudit(SQLModel, table=True):
    """Who changed which budget, from what to what: budgets move money decisions, so every change is kept."""

    __tablename__ = "cost_budget_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    user_id: str = Field(max_length=64)
    action: str = Field(max_length=16, description="set or remove")
    cohort: str = Field(max_length=1000)
    period: str = Field(max_length=8)
    old_usd: float | None = Field(default=None, sa_type=Float)
    new_usd: float | None = Field(default=None, sa_type=Float)


class ProviderCost(SQLModel, table=True):
    """The provider's own cost for one UTC day and model, as imported from its API or a CSV export."""

    __tablename__ = "cost_provider_costs"
    __table_args__ = (UniqueConstraint("provider", "day", "model", name="uq_cost_provider_costs_day_model"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    day: str = Field(max_length=10, description="YYYY-MM-DD (UTC)")
    model: str = Field(max_length=200)
    usd: float = Field(sa_type=Float)
    source: str = Field(max_length=16, description="api or csv")
    imported_at: datetime = Field(sa_type=UTCDateTime)
