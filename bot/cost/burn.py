"""Burn-rate math for spend: seasonal expected pace, multiwindow burn verdicts, projections. Pure functions.

Spend normally burns at about 1x its expected pace, and that pace follows the day: the
expected spend of a window is the cohort's median spend for those hours of the day over
its recent history (or, for a cohort with a budget, the budget's pace shaped by that daily
cycle). A page needs a fast burn on a long window (sure) and a short one (still burning);
a ticket needs a slower burn over hours that will still break the budget.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import median
from typing import Literal

from bot.config import CostConfig

Level = Literal["page", "ticket"]


@dataclass(frozen=True)
class Rule:
    """One multiwindow rule: both windows must burn at ``burn`` times the expected pace or more."""

    long_s: int
    short_s: int
    burn: float


@dataclass(frozen=True)
class Thresholds:
    page: Rule
    ticket: Rule
    min_share: float
    min_requests: int


def thresholds_from(cfg: CostConfig) -> Thresholds:
    """The configured thresholds (afterlaunch.toml ``[cost]``)."""
    return Thresholds(
        page=Rule(cfg.page_long_minutes * 60, cfg.page_short_minutes * 60, cfg.page_burn),
        ticket=Rule(cfg.ticket_long_minutes * 60, cfg.ticket_short_minutes * 60, cfg.ticket_burn),
        min_share=cfg.min_share,
        min_requests=cfg.min_requests,
    )


@dataclass(frozen=True)
class Profile:
    """Expected spend per hour of the UTC day (24 values, USD per hour) and how many days it rests on."""

    hourly: tuple[float, ...]
    days: int

    def expected(self, start: int, end: int) -> float:
        """Expected spend over [start, end) epoch seconds, integrating the hour-of-day pace."""
        days = max(0, end - start) // 86400
        total, t = days * self.daily, start + days * 86400
        while t < end:
            nxt = min(end, (t // 3600 + 1) * 3600)
            total += self.hourly[(t // 3600) % 24] * (nxt - t) / 3600
            t = nxt
        return total

    @property
    def daily(self) -> float:
        return sum(self.hourly)

    def shape(self, start: int, end: int) -> float:
        """The share of a flat pace this window expects (1.0 for a flat profile or no history)."""
        if self.daily <= 0:
            return 1.0
        return self.expected(start, end) / (self.daily * (end - start) / 86400)


EMPTY = Profile(tuple([0.0] * 24), 0)
YOUNG_DAYS = 3


def build_profile(hourly: Iterable[tuple[int, float]], *, history_start: int, history_end: int) -> Profile:
    """Median spend per hour of day across the days since the cohort first appeared in [start, end).

    The median keeps a past incident from raising the baseline; days before the cohort's
    first hour are left out so a new cohort is not diluted by days it did not exist.
    """
    by_hour: dict[int, float] = {}
    for bucket, cost in hourly:
        if history_start <= bucket < history_end:
            by_hour[bucket] = by_hour.get(bucket, 0.0) + cost
    if not by_hour:
        return EMPTY
    first_day = min(by_hour) // 86400 * 86400
    days = list(range(first_day, history_end // 86400 * 86400, 86400))
    if not days:
        return EMPTY
    values: dict[int, list[float]] = defaultdict(list)
    # With under YOUNG_DAYS days one sample per hour is too noisy for a small cohort at night: the hours
    # either side join the median (the middle one of a steady ramp, so the daily cycle keeps its shape).
    spread = (-1, 0, 1) if len(days) < YOUNG_DAYS else (0,)
    for day in days:
        for h in range(24):
            stamps = [day + (h + d) * 3600 for d in spread]
            values[h] += [by_hour.get(ts, 0.0) for ts in stamps if first_day <= ts < history_end]
    return Profile(tuple(median(values[h]) for h in range(24)), len(days))


@dataclass(frozen=True)
class WindowSpend:
    """Actual and expected spend of one cohort over one window."""

    actual: float
    expected: float
    requests: int

    @property
    def burn(self) -> float:
        if self.expected > 0:
            return self.actual / self.expected
        return math.inf if self.actual > 0 else 0.0


def verdict(
    windows: dict[str, WindowSpend], t: Thresholds, *, volume_ok: bool, breaks_budget: bool | None
) -> Level | None:
    """Page, ticket or nothing, from the four windows ``page_long/page_short/ticket_long/ticket_short``.

    ``breaks_budget`` None means no budget applies: a slow burn then raises a ticket on its burn alone.
    """
    if not volume_ok:
        return None
    if windows["page_long"].burn >= t.page.burn and windows["page_short"].burn >= t.page.burn:
        return "page"
    slow = windows["ticket_long"].burn >= t.ticket.burn and windows["ticket_short"].burn >= t.ticket.burn
    if slow and breaks_budget is not False:
        return "ticket"
    return None


def volume_ok(long: WindowSpend, *, total_expected: float, t: Thresholds, requests: int | None = None) -> bool:
    """The minimum-volume guard: a cohort must carry enough requests and a real share of spend to alarm.

    ``requests`` may be counted over a longer window than ``long`` (the detector uses the ticket's short
    window, 30 min): a cost regression adds tokens, not calls, and must not hide behind a call count.
    """
    count = long.requests if requests is None else max(requests, long.requests)
    return count >= t.min_requests and long.actual >= t.min_share * total_expected * t.page.burn


PAGE_Z = 4.0
"""How many standard deviations of counting noise a page's excess spend must clear."""


def significant(w: WindowSpend, z: float = PAGE_Z) -> bool:
    """Whether the excess over expected is more than counting noise: few, pricey calls swing a small cohort.

    Spend over a window is about a Poisson count of calls times their mean cost ``c``, so its noise
    around the expected spend ``E`` is about sqrt(E * c).
    """
    if w.requests <= 0 or w.expected <= 0:
        return w.actual > 0
    mean_cost = w.actual / w.requests
    return w.actual - w.expected >= z * math.sqrt(w.expected * mean_cost)


@dataclass(frozen=True)
class Projection:
    """Where the period ends if the current burn continues, and when the budget runs out."""

    spent: float
    projected: float
    budget: float
    seconds_left: float | None

    @property
    def breaks(self) -> bool:
        return self.projected > self.budget


def project(
    *, spent: float, expected_rest: float, burn: float, rate_now: float, now: int, period_end: int, budget: float
) -> Projection:
    """Spent so far plus the rest of the period's expected pace at the current burn; time left at today's rate."""
    projected = spent + expected_rest * max(burn, 0.0)
    if spent >= budget:
        left: float | None = 0.0
    elif rate_now > 0:
        left = (budget - spent) / rate_now
        if now + left > period_end and projected <= budget:
            left = None  # the period ends first
    else:
        left = None
    return Projection(spent=spent, projected=projected, budget=budget, seconds_left=left)
