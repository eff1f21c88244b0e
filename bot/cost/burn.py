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
    """Expected spend per hour of the UTC day (24 values, USD per hour), how many days it rests on, and its noise.

    ``cost_per_request`` is the cohort's mean cost of a request; ``noise_unit`` the spend-weighted one
    (sum of cost squared per request over sum of cost, i.e. E[c^2]/E[c]), the unit in which its spend
    varies like a Poisson count; ``level_sd`` how far a whole day's spend strays from the usual (relative).
    """

    hourly: tuple[float, ...]
    days: int
    cost_per_request: float = 0.0
    noise_unit: float = 0.0
    level_sd: float = 0.0
    hours: int = 0
    """Hours of history with data behind the profile: what its age is, counted from the cohort's first data."""

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
        return max(SHAPE_FLOOR, self.expected(start, end) / (self.daily * (end - start) / 86400))


EMPTY = Profile(tuple([0.0] * 24), 0)
SHAPE_FLOOR = 0.1
"""A window never expects less than this share of a flat pace: a quiet hour is not a zero one (no burn of ∞x)."""
YOUNG_DAYS = 3
LEVEL_SD_YOUNG = 0.25
"""A day's level is this uncertain (relative) while under YOUNG_DAYS days of history say otherwise."""
LEVEL_SD_RANGE = (0.05, 0.5)


def build_profile(hourly: Iterable[tuple[int, float, int]], *, history_start: int, history_end: int) -> Profile:
    """Median spend per hour of day across the days since the cohort first appeared in [start, end).

    ``hourly`` holds (hour, spend, requests) rows, finer than the cohort where possible (per model,
    intent...): the noise unit is estimated from them. The median keeps a past incident from
    raising the baseline. Only time with data counts: hours before the cohort's first hour are left
    out (a launch at noon does not make the morning a zero-spend morning), and an hour of the day no
    day has seen yet takes the mean pace of the hours that have been seen.
    """
    by_hour: dict[int, float] = {}
    spend = requests = squares = 0.0
    for bucket, cost, n in hourly:
        if history_start <= bucket < history_end:
            by_hour[bucket] = by_hour.get(bucket, 0.0) + cost
            spend += cost
            requests += n
            if n > 0:
                squares += cost * cost / n
    if not by_hour:
        return EMPTY
    first_hour = min(by_hour) // 3600 * 3600
    first_day = first_hour // 86400 * 86400
    end_hour = history_end // 3600 * 3600
    days = list(range(first_day, history_end // 86400 * 86400, 86400))
    if not days or end_hour <= first_hour:
        return EMPTY
    values: dict[int, list[float]] = defaultdict(list)
    # With under YOUNG_DAYS days one sample per hour is too noisy for a small cohort at night: the hours
    # either side join the median (the middle one of a steady ramp, so the daily cycle keeps its shape).
    spread = (-1, 0, 1) if len(days) < YOUNG_DAYS else (0,)
    for day in days:
        for h in range(24):
            stamps = [day + (h + d) * 3600 for d in spread]
            values[h] += [by_hour.get(ts, 0.0) for ts in stamps if first_hour <= ts < end_hour]
    seen = [median(values[h]) for h in range(24) if values[h]]
    fill = sum(seen) / len(seen) if seen else 0.0
    whole = [d for d in days if d >= first_hour]
    return Profile(
        tuple(median(values[h]) if values[h] else fill for h in range(24)),
        len(days),
        cost_per_request=spend / requests if requests else 0.0,
        noise_unit=squares / spend if spend > 0 else 0.0,
        level_sd=_level_sd([sum(by_hour.get(d + h * 3600, 0.0) for h in range(24)) for d in whole]),
        hours=(end_hour - first_hour) // 3600,
    )


def _level_sd(daily: list[float]) -> float:
    """Robust relative spread of daily spend around its median (1.4826 MAD of the log), within LEVEL_SD_RANGE.

    A tenant's busier or quieter day moves every hour of it: the hour's median says nothing of that,
    so a test of one window's excess must allow for it on top of the counting noise.
    """
    lo, hi = LEVEL_SD_RANGE
    if len(daily) < YOUNG_DAYS:
        return LEVEL_SD_YOUNG
    mid = median(daily)
    if mid <= 0:
        return hi
    spread = 1.4826 * median(abs(math.log(max(d, mid * 1e-3) / mid)) for d in daily)
    return min(hi, max(lo, spread))


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
    if (
        windows["page_long"].expected > 0
        and windows["page_long"].burn >= t.page.burn
        and windows["page_short"].burn >= t.page.burn
    ):
        return "page"
    slow = windows["ticket_long"].burn >= t.ticket.burn and windows["ticket_short"].burn >= t.ticket.burn
    if slow and breaks_budget is not False:
        return "ticket"
    return None


def volume_ok(
    long: WindowSpend,
    *,
    total_expected: float,
    t: Thresholds,
    requests: int | None = None,
    cost_per_request: float = 0.0,
) -> bool:
    """The minimum-volume guard: a cohort must carry enough volume and a real share of spend to alarm.

    Volume is counted in requests or in requests' worth of spend at the cohort's usual
    ``cost_per_request``, whichever is more: a model upgrade or a prompt regression adds cost, not
    calls, and a new pricey model's few calls must not hide behind a call count. ``requests`` may be
    counted over a longer window than ``long`` (the detector uses the ticket's short window, 30 min).
    """
    count = float(long.requests if requests is None else max(requests, long.requests))
    if cost_per_request > 0:
        count = max(count, long.actual / cost_per_request)
    return count >= t.min_requests and long.actual >= t.min_share * total_expected * t.page.burn


PAGE_Z = 5.0
"""Standard deviations of noise a page's excess must clear, counted after a square-root transform.

A month holds some 43,000 runs over a few dozen cohorts, on the order of a hundred thousand
independent 15-minute looks: at 5 (one-sided p about 3e-7, per window tested) a clean month
expects well under one false page, where 4 (3e-5) expects several.
"""


def excess_z(w: WindowSpend, *, noise_unit: float, level_sd: float) -> float:
    """How many standard deviations of noise the window's spend lies above expected (negative below).

    Spend is a Poisson count of calls times their cost, so in units of ``noise_unit`` (E[c^2]/E[c]
    under normal traffic) it varies like a Poisson count, and the day's level adds a relative spread
    ``level_sd`` to the expected: Var = lam + (level_sd * lam)^2. The square root makes a Poisson
    count's skewed upper tail near normal (Anscombe), so small cohorts at night, whose few calls
    swing their spend most, are held to the same odds as large ones.
    """
    if w.expected <= 0:
        return math.inf if w.actual > 0 else 0.0
    if noise_unit <= 0:
        noise_unit = w.actual / w.requests if w.requests > 0 else w.expected
    x, lam = w.actual / noise_unit, w.expected / noise_unit
    return (math.sqrt(x) - math.sqrt(lam)) / (0.5 * math.sqrt(1.0 + level_sd * level_sd * lam))


def significant(windows: Iterable[WindowSpend], *, noise_unit: float, level_sd: float, z: float = PAGE_Z) -> bool:
    """Whether a burn is more than noise in any of its windows: the short one holds a fresh burn undiluted."""
    return any(excess_z(w, noise_unit=noise_unit, level_sd=level_sd) >= z for w in windows)


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
