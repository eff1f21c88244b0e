"""The ``cost_burn`` detector: every minute, each cohort's spend against its expected pace and its budget."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.cost import attribution as attr
from bot.cost.baseline import Snapshot, load_profiles, period_spend, take_snapshot
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
from bot.detectors import Finding, open_alarms
from bot.detectors.kernel import OpenAlarm
from bot.services import Services
from storage import cost as store

log = logging.getLogger(__name__)

DETECTOR = "cost_burn"
WINDOWS = ("page_long", "page_short", "ticket_long", "ticket_short")
REATTRIBUTE = timedelta(minutes=10)
OVERLAP = 0.5
MIN_HISTORY_DAYS = 2
"""A firing cohort mostly made of a stronger firing cohort's requests is the same incident: one card."""


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

    @property
    def key(self) -> str:
        if self.budget is not None:
            return f"{DETECTOR}:budget:{self.budget.period}:{describe_cohort(self.cohort)}"
        return f"{DETECTOR}:{describe_cohort(self.cohort)}"


def _window_bounds(t: Thresholds, end: int) -> dict[str, tuple[int, int]]:
    return {
        "page_long": (end - t.page.long_s, end),
        "page_short": (end - t.page.short_s, end),
        "ticket_long": (end - t.ticket.long_s, end),
        "ticket_short": (end - t.ticket.short_s, end),
    }


def evaluate(
    services: Services, *, session: Session, end: int, t: Thresholds, snap: Snapshot | None = None
) -> list[Evaluation]:
    """Every cohort's verdict at ``end`` (epoch seconds, minute-aligned): budgets first, then each dimension."""
    cfg = services.settings.file.cost
    dims = list(cfg.dimensions)
    bounds = _window_bounds(t, end)
    if snap is None:
        snap = take_snapshot(session=session, bounds=bounds, dims=dims, cache_key=services.db.url)
    profiles = load_profiles(services, session=session, end=end, dims=dims, days=cfg.baseline_days)
    total_profile = profiles.get({}) or EMPTY
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
    if total_profile.days < MIN_HISTORY_DAYS:
        return out  # one day is one sample per hour, not a pace: until then only budgets can alarm
    budgeted = {store.cohort_json(b.cohort) for b in budgets}
    total_expected = {name: total_profile.expected(lo, hi) for name, (lo, hi) in bounds.items()}
    for dim in dims:
        for value in snap.values(dim):
            cohort = {dim: value}
            if store.cohort_json(cohort) in budgeted:
                continue
            profile = profiles.get(cohort) or EMPTY

            def spend(name: str, cohort: dict[str, str] = cohort, profile: Profile = profile) -> WindowSpend:
                expected = max(profile.expected(*bounds[name]), t.min_share * total_expected[name])
                return WindowSpend(snap.actual(name, cohort), expected, snap.requests(name, cohort))

            long = spend("page_long")
            # A cohort new to the history (a key, a model) is measured in all traffic's units.
            known = profile if profile.cost_per_request > 0 else total_profile
            ok = volume_ok(
                long,
                total_expected=total_expected["page_long"],
                t=t,
                requests=snap.requests("ticket_short", cohort),
                cost_per_request=known.cost_per_request,
            )
            if not ok:
                continue  # the guard first: most cohorts stop here, before their other windows are computed
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
            floored = profile.expected(*bounds["page_long"]) < long.expected
            noise = {
                "noise_unit": known.noise_unit,
                "level_sd": (total_profile if floored else profile).level_sd,
            }
            if level == "page" and not significant((long, windows["page_short"]), **noise):
                continue  # a small cohort's counting noise, not a burn: the next minute looks again
            out.append(Evaluation(cohort, None, windows, level, proj, container))
    return out


def merge_incidents(firing: list[Evaluation], snap: Snapshot, active: set[str]) -> list[Evaluation]:
    """Keep one card per incident: cohorts already alarming first, then the strongest burn."""
    firing = sorted(firing, key=lambda e: (e.key not in active, e.budget is None, -e.windows["page_long"].burn))
    kept: list[Evaluation] = []
    for ev in firing:
        host = None
        if ev.budget is None:
            mine = ev.windows["page_long"].actual or 1.0
            host = next(
                (
                    k
                    for k in kept
                    if k.budget is None
                    and snap.actual("page_long", {**k.cohort, **ev.cohort}) / mine >= OVERLAP
                    and not (set(k.cohort) & set(ev.cohort))
                ),
                None,
            )
        if host is None:
            kept.append(ev)
        else:
            host.also.append(describe_cohort(ev.cohort))
    return kept


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
        evaluations = evaluate(services, session=session, end=end, t=t, snap=snap)
        firing = [e for e in evaluations if e.level is not None]
        if len(firing) > 1:
            firing = merge_incidents(firing, snap, set(active))
        attributions: dict[str, tuple[attr.Attribution, datetime]] = {}
        for ev in firing:
            alarm = active.get(ev.key)
            if alarm is not None and (when := _fresh(alarm, now)) is not None:
                attributions[ev.key] = (attr.Attribution.from_json(alarm.memo["attribution"]), when)
            else:
                # the short window: the burn fills it, where the long one still holds the minutes before it
                window = t.page.short_s if ev.level == "page" else t.ticket.short_s
                found = attr.attribute(session=session, cohort=ev.cohort, end=end, window_s=window)
                attributions[ev.key] = (found, now)
    from bot.cost.findings import build_finding

    out = []
    for ev in firing:
        alarm = active.get(ev.key)
        attribution, when = attributions[ev.key]
        finding = build_finding(ev, attribution, t, started_at=alarm.started_at if alarm else now, now=now)
        out.append(finding.with_(memo={"attribution": attribution.to_json(), "attributed_at": when.isoformat()}))
    return out


def _fresh(alarm: OpenAlarm, now: datetime) -> datetime | None:
    """When a firing alarm's attribution younger than REATTRIBUTE was made (it is then reused), else None."""
    when = alarm.memo.get("attributed_at")
    if not when or "attribution" not in alarm.memo:
        return None
    made = datetime.fromisoformat(when)
    return made if now - made < REATTRIBUTE else None
