"""Budgets per cohort and period, from the config file and from Slack, and the calendar they run on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from bot.errors import UserError
from bot.services import Services
from storage import cost as store

BUDGET_KEYS = ("tenant", "intent", "prompt_version", "model")
PERIODS = ("day", "month")


@dataclass(frozen=True)
class Budget:
    """One budget: ``cohort`` {} is all traffic; ``source`` says where it was set (config or slack)."""

    cohort: dict[str, str]
    period: str
    usd: float
    source: str

    @property
    def label(self) -> str:
        return describe_cohort(self.cohort)

    def contains(self, cohort: dict[str, str]) -> bool:
        """True when every request of ``cohort`` counts against this budget."""
        return all(cohort.get(k) == v for k, v in self.cohort.items())


def describe_cohort(cohort: dict[str, str]) -> str:
    """A cohort as people write it: ``tenant=acme intent=billing`` or ``all traffic``."""
    return " ".join(f"{k}={v}" for k, v in sorted(cohort.items())) or "all traffic"


def list_budgets(services: Services, *, session: Session) -> list[Budget]:
    """Every budget in force; one set from Slack overrides the config file's for the same cohort and period."""
    found: dict[tuple[str, str], Budget] = {}
    for b in services.settings.file.budgets:
        cohort = {str(k): v for k, v in b.cohort.items()}
        found[(store.cohort_json(cohort), b.period)] = Budget(cohort, b.period, b.usd, "config")
    for row in store.list_budgets(session=session):
        found[(row.cohort, row.period)] = Budget(json.loads(row.cohort), row.period, row.usd, "slack")
    return list(found.values())


def period_bounds(period: str, now: datetime) -> tuple[int, int]:
    """[start, end) of the UTC day or calendar month holding ``now``, in epoch seconds."""
    now = now.astimezone(UTC)
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return int(start.timestamp()), int(start.timestamp()) + 86400
    if period == "month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return int(start.timestamp()), int(nxt.timestamp())
    raise ValueError(f"unknown period {period!r}")


def parse_budget_args(words: list[str]) -> tuple[float, str, dict[str, str]]:
    """``<usd> <day|month> [tenant=X intent=Y ...]`` as typed after ``/cost budget set``."""
    usage = "usage: `/cost budget set <usd> <day|month> [tenant=X] [intent=X] [prompt_version=X] [model=X]`"
    if len(words) < 2:
        raise UserError(f"a budget needs an amount and a period. {usage}")
    raw_usd, period, rest = words[0].lstrip("$").replace(",", ""), words[1].lower(), words[2:]
    try:
        usd = float(raw_usd)
    except ValueError:
        raise UserError(f"'{words[0]}' is not an amount in USD. {usage}") from None
    if not (0 < usd < 1e9) or usd != usd:
        raise UserError(f"the amount must be more than 0 and less than 1,000,000,000. {usage}")
    if period not in PERIODS:
        raise UserError(f"'{words[1]}' is not a period: use day or month. {usage}")
    return usd, period, parse_cohort(rest, allowed=BUDGET_KEYS, usage=usage)


def parse_cohort(words: list[str], *, allowed: tuple[str, ...], usage: str) -> dict[str, str]:
    """``key=value`` words into a cohort, refusing unknown keys, empty values and repeats by name."""
    cohort: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.lower()
        if not sep or not value:
            raise UserError(f"'{word[:80]}' is not a key=value filter. {usage}")
        if key not in allowed:
            raise UserError(f"'{key[:40]}' cannot scope this; use one of {', '.join(allowed)}. {usage}")
        if key in cohort:
            raise UserError(f"{key} is given twice. {usage}")
        if len(value) > 200:
            raise UserError(f"the value of {key} is longer than 200 characters. {usage}")
        cohort[key] = value
    return cohort
