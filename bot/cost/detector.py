"""The ``cost_burn`` detector: every minute, each cohort's spend against its expected pace and its budget."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.cost import attribution as attr
from bot.cost.baseline import Relative, Snapshot, load_profiles, period_spend, take_snapshot
from bot.cost.budgets import Budget, describe_cohort, list_budgets, period_bounds
from bot.cost.burn import (
    EMPTY,
    Profile,
    Projection,
    Thresholds,
    WindowSpend,
    project,
    significant,
    thresholds_from,
    verdict,
    volume_ok,
)
from bot.cost.incidents import group_incidents, onset_of
from bot.detectors import Finding, open_alarms
from bot.detectors.kernel import OpenAlarm
from bot.services import Services
from storage import cost as store

log = logging.getLogger(__name__)

DETECTOR = "cost_burn"
WINDOWS = ("page_long", "page_short", "ticket_long", "ticket_short")
REATTRIBUTE = timedelta(minutes=10)
SEASONAL_HOURS = 24
"""A cohort is judged against its hour-of-day profile once that rests on a day of data; before, relative to the rest."""
MIN_HISTORY_S = 3600
"""No page from a baseline built on less than an hour of data."""
MAX_RELATIVE_SHARE = 0.8
"""A young cohort holding more than this share of all spend has no rest of traffic to be compared with."""
LEVEL_SD_RELATIVE = 0.3
"""The wider tolerance of a relative baseline: its ratio rests on hours, not days."""


@dataclass
class Evaluation:
    """One cohort's burn at ``now``: its windows, verdict and projection."""

    cohort: dict[str, str]
    budget: Budget | None
    windows: dict[str, WindowSpend]
    level: str | None
    projection: Projection | None = None
    projection_budget: Budget | None = None
    also: list[str] = field(default_factory=list)
    baseline: str = ""
    """How the expected spend was found and on how much history (the card says how young it is)."""
    ratio: float | None = None
    """A relative baseline's ratio to the rest of traffic (None: seasonal profile)."""
    root: dict[str, str] | None = None
    """The cohort this one is a slice of (the tenant whose spend it mostly is): the incident's name."""

    @property
    def key(self) -> str:
        if self.budget is not None:
            return f"{DETECTOR}:budget:{self.budget.period}:{describe_cohort(self.cohort)}"
        return f"{DETECTOR}:{describe_cohort(self.root if self.root is not None else self.cohort)}"


def _window_bounds(t: Thresholds, end: int) -> dict[str, tuple[int, int]]:
    return {
        "page_long": (end - t.page.long_s, end),
        "page_short": (end - t.page.short_s, end),
        "ticket_long": (end - t.ticket.long_s, end),
        "ticket_short": (end - t.ticket.short_s, end),
    }


def evaluate(
    services: Services,
    *,
    session: Session,
    end: int,
    t: Thresholds,
    snap: Snapshot | None = None,
    sustain: set[str] | None = None,
) -> list[Evaluation]:
    """Every cohort's verdict at ``end`` (epoch seconds, minute-aligned): budgets first, then each dimension.

    ``sustain`` holds the keys of open incidents: their cohorts keep paging while they burn at the ticket rate.
    """
    sustain = sustain or set()
    cfg = services.settings.file.cost
    dims = list(cfg.dimensions)
    bounds = _window_bounds(t, end)
    if snap is None:
        snap = take_snapshot(session=session, bounds=bounds, dims=dims, cache_key=services.db.url)
    profiles = load_profiles(services, session=session, end=end, dims=dims, days=cfg.baseline_days)
    total_profile = profiles.get({}) or EMPTY
    if total_profile.cost_per_request <= 0 and (young := profiles.relative({})) is not None:
        # under a whole day: all traffic's units (cost of a call, noise) from the hours there are
        total_profile = Profile(EMPTY.hourly, 0, young.cost_per_request, young.noise_unit, 0.0, 0)
    budgets = list_budgets(services, session=session)
    spent_memo: dict[tuple[str, str], float] = {}

    def spent_of(budget: Budget) -> float:
        key = (store.cohort_json(budget.cohort), budget.period)
        if key not in spent_memo:
            lo, _ = period_bounds(budget.period, _dt(end))
            spent_memo[key] = period_spend(services, session=session, cohort=budget.cohort, start=lo, end=end)
        return spent_memo[key]

    out: list[Evaluation] = []
    for budget in budgets:
        p_start, p_end = period_bounds(budget.period, _dt(end))
        pace = budget.usd / (p_end - p_start)
        profile = profiles.get(budget.cohort) or EMPTY
        windows = {
            name: WindowSpend(
                snap.actual(name, budget.cohort),
                pace * (hi - lo) * profile.shape(lo, hi),
                snap.requests(name, budget.cohort),
            )
            for name, (lo, hi) in bounds.items()
        }
        spent = spent_of(budget)
        proj = project(
            spent=spent,
            expected_rest=pace * (p_end - end),
            burn=windows["page_long"].burn,
            rate_now=windows["page_long"].actual / t.page.long_s,
            now=end,
            period_end=p_end,
            budget=budget.usd,
        )
        # Volume in requests or their worth of spend, as for any cohort (a budget has no share to hold).
        volume = max(windows["page_long"].requests, windows["ticket_short"].requests)
        worth = (profile if profile.cost_per_request > 0 else total_profile).cost_per_request
        if worth > 0:
            volume = max(volume, int(windows["page_long"].actual / worth))
        level = verdict(windows, t, volume_ok=volume >= t.min_requests, breaks_budget=proj.breaks)
        out.append(Evaluation(budget.cohort, budget, windows, level, proj, budget))
    first = profiles.first_data
    if first is None or end - first < MIN_HISTORY_S:
        return out  # under an hour of data: nothing to page against but a budget
    budgeted = {store.cohort_json(b.cohort) for b in budgets}
    total_now = {name: snap.actual(name, {}) for name in bounds}
    seasonal_total = total_profile.hours >= SEASONAL_HOURS
    total_expected = {
        name: total_profile.expected(lo, hi) if seasonal_total else total_now[name] for name, (lo, hi) in bounds.items()
    }
    age = _age(end - first)
    for dim in dims:
        for value in snap.values(dim):
            cohort = {dim: value}
            if store.cohort_json(cohort) in budgeted:
                continue
            profile = profiles.get(cohort) or EMPTY
            rel = None if profile.hours >= SEASONAL_HOURS else profiles.relative(cohort)
            # A ratio needs a whole hour of the cohort's data: two hours of buckets, or one since the launch.
            if rel is not None and (rel.hours >= 2 or (rel.hours >= 1 and rel.first <= first // 3600 * 3600)):
                if rel.share > MAX_RELATIVE_SHARE:
                    continue  # all traffic, near enough: the cohorts it holds speak for it
                ratio: float | None = rel.ratio
            else:
                ratio = None

            def spend(
                name: str, cohort: dict[str, str] = cohort, profile: Profile = profile, ratio: float | None = ratio
            ) -> WindowSpend:
                actual = snap.actual(name, cohort)
                own = profile.expected(*bounds[name]) if ratio is None else ratio * (total_now[name] - actual)
                expected = max(own, t.min_share * total_expected[name])
                return WindowSpend(actual, expected, snap.requests(name, cohort))

            long = spend("page_long")
            # A cohort new to the history (a key, a model) is measured in all traffic's units.
            known: Profile | Relative = profile
            if profile.cost_per_request <= 0:
                known = rel if rel is not None and ratio is not None and rel.cost_per_request > 0 else total_profile
            ok = volume_ok(
                long,
                total_expected=total_expected["page_long"],
                t=t,
                requests=snap.requests("ticket_short", cohort),
                cost_per_request=known.cost_per_request,
            )
            open_incident = f"{DETECTOR}:{describe_cohort(cohort)}" in sustain
            if not ok and not open_incident:
                continue  # the guard first: most cohorts stop here, before their other windows are computed
            # An open incident's cohort is still judged when its volume dips (a small tenant at night):
            # dropping it closed the card mid-incident and let its slices open cards of their own.
            windows = {name: long if name == "page_long" else spend(name) for name in bounds}
            container = max((b for b in budgets if b.contains(cohort)), key=lambda b: len(b.cohort), default=None)
            proj = None
            if container is not None:
                p_start, p_end = period_bounds(container.period, _dt(end))
                c_profile = profiles.get(container.cohort) or EMPTY
                excess = max(0.0, windows["page_long"].actual - windows["page_long"].expected) / t.page.long_s
                normal_rest = c_profile.expected(end, p_end) or container.usd * (p_end - end) / (p_end - p_start)
                spent = spent_of(container)
                projected_rest = normal_rest + excess * (p_end - end)
                proj = project(
                    spent=spent,
                    expected_rest=projected_rest,
                    burn=1.0,
                    rate_now=snap.actual("page_long", container.cohort) / t.page.long_s,
                    now=end,
                    period_end=p_end,
                    budget=container.usd,
                )
            level = verdict(windows, t, volume_ok=ok, breaks_budget=proj.breaks if proj else None)
            # The floor of expected spend follows all traffic: its level spreads like all traffic's.
            own_long = (
                profile.expected(*bounds["page_long"])
                if ratio is None
                else ratio * (total_now["page_long"] - long.actual)
            )
            floored = own_long < long.expected
            if ratio is not None:
                level_sd = LEVEL_SD_RELATIVE
            else:
                level_sd = (total_profile if floored else profile).level_sd or LEVEL_SD_RELATIVE
            noise = {"noise_unit": known.noise_unit, "level_sd": level_sd}
            if level == "page" and not significant((long, windows["page_short"]), **noise):
                level = None  # a small cohort's counting noise, not a burn: the next minute looks again
            held = long.burn >= t.ticket.burn and windows["page_short"].burn >= t.ticket.burn
            if level is None and held and open_incident:
                level = "page"  # an open incident holds while its cohort still burns: no card flapping on noise
            if ratio is not None:
                note = f"{age} of history: {ratio:.2f}x the pace of the rest of traffic, wider tolerance"
            elif profile.hours >= SEASONAL_HOURS:
                note = f"{_age(profile.hours * 3600)} of history: median spend of the hour of day"
            else:
                note = f"new cohort ({age} of history for all traffic): judged against {t.min_share:.0%} of all spend"
            out.append(Evaluation(cohort, None, windows, level, proj, container, baseline=note, ratio=ratio))
    return out


def _age(seconds: int) -> str:
    """A baseline's age as a person says it: 6h, 1d 4h, 9d."""
    hours = seconds // 3600
    if hours < 24:
        return f"{max(hours, 0)}h"
    days, rest = divmod(hours, 24)
    return f"{days}d" if days >= 3 or not rest else f"{days}d {rest}h"


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def detect_cost_burn(services: Services, now: datetime) -> list[Finding]:
    """The detector: a firing finding per burning cohort (one stable key each); the kernel resolves the rest.

    A firing alarm's attribution is reused for REATTRIBUTE (kept in the alarm's memo), then recomputed.
    """
    t = thresholds_from(services.settings.file.cost)
    end = int(now.timestamp()) // 60 * 60
    dims = list(services.settings.file.cost.dimensions)
    active = open_alarms(services, DETECTOR)
    with services.db.session() as session:
        snap = take_snapshot(session=session, bounds=_window_bounds(t, end), dims=dims, cache_key=services.db.url)
        evaluations = evaluate(services, session=session, end=end, t=t, snap=snap, sustain=set(active))
        firing = group_incidents([e for e in evaluations if e.level is not None], evaluations, snap, t)
        attributions: dict[str, tuple[attr.Attribution, datetime]] = {}
        for ev in firing:
            alarm = active.get(ev.key)
            if alarm is not None and (when := _fresh(alarm, now)) is not None:
                attributions[ev.key] = (attr.Attribution.from_json(alarm.memo["attribution"]), when)
            else:
                attributions[ev.key] = (_attribute(services, session, ev, evaluations, end=end, t=t), now)
    from bot.cost.findings import build_finding

    out = []
    for ev in firing:
        alarm = active.get(ev.key)
        attribution, when = attributions[ev.key]
        finding = build_finding(ev, attribution, t, started_at=alarm.started_at if alarm else now, now=now)
        out.append(finding.with_(memo={"attribution": attribution.to_json(), "attributed_at": when.isoformat()}))
    return out


def _attribute(
    services: Services, session: Session, ev: Evaluation, evaluations: list[Evaluation], *, end: int, t: Thresholds
) -> attr.Attribution:
    """Rank the causes on the incident's root cohort, from the burn's onset: the same answer at every age."""
    cohort = ev.root if ev.root is not None else ev.cohort
    same = next((e for e in evaluations if e.cohort == cohort and e.budget is None), None)
    cfg = services.settings.file.cost
    profiles = load_profiles(services, session=session, end=end, dims=list(cfg.dimensions), days=cfg.baseline_days)
    onset = onset_of(
        session=session,
        cohort=cohort,
        end=end,
        first_data=profiles.first_data,
        profile=profiles.get(cohort),
        ratio=same.ratio if same is not None else None,
    )
    if onset is None:
        # no onset found: the short window, which the burn fills where the long one still holds the minutes before
        onset = end - (t.page.short_s if ev.level == "page" else t.ticket.short_s)
    return attr.attribute(session=session, cohort=cohort, end=end, onset=onset)


def _fresh(alarm: OpenAlarm, now: datetime) -> datetime | None:
    """When a firing alarm's attribution younger than REATTRIBUTE was made (it is then reused), else None."""
    when = alarm.memo.get("attributed_at")
    if not when or "attribution" not in alarm.memo:
        return None
    made = datetime.fromisoformat(when)
    return made if now - made < REATTRIBUTE else None
