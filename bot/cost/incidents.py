"""One burn, one card: firing cohorts grouped under the root cohort they are slices of, and the burn's onset.

A leaked key in one tenant also lifts that tenant, its model and its intents; each is a slice of the
tenant's burn. The tenant (the root) names the incident, so its key stays the same whichever slice
crossed the threshold first, and the others are listed on its card as affected slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.cost.baseline import Snapshot
from bot.cost.budgets import describe_cohort
from bot.cost.burn import Profile, Thresholds
from storage import cost as store

if TYPE_CHECKING:
    from bot.cost.detector import Evaluation

DOMINANT = 0.8
"""A tenant with this share of a cohort's spend is its root outright."""
SLICE_SHARE = 0.2
"""... or, if the tenant burns itself, with this share of the cohort's spend."""
EXCESS_SHARE = 0.5
"""... or, if the tenant burns itself, with this share of the cohort's excess over its expected spend."""
ONSET_LOOKBACK_S = 7 * 3600
"""How far back the onset is looked for: an incident up to six hours old, and an hour before it."""
ONSET_ALLOWANCE = 0.5
"""Spend above (1 + this) x expected counts towards an excursion; below, it wears it down."""


def find_root(ev: Evaluation, evaluations: Sequence[Evaluation], snap: Snapshot, t: Thresholds) -> dict[str, str]:
    """The tenant a firing cohort is a slice of, or the cohort itself when no one tenant holds its burn."""
    cohort, dims = ev.cohort, snap.dims
    if "tenant" in cohort or "tenant" not in dims:
        return cohort
    # The window the verdict rests on: a slow burn's slice fills its six hours with the incident's excess.
    window = "page_long" if ev.level == "page" else "ticket_long"
    long = ev.windows[window]
    ti = dims.index("tenant")
    tests = [(dims.index(k), v) for k, v in cohort.items()]
    per: dict[str, float] = {}
    for vals, cost, _ in snap.rows[window]:
        if all(vals[i] == v for i, v in tests):
            per[vals[ti]] = per.get(vals[ti], 0.0) + cost
    if not per or long.actual <= 0:
        return cohort
    tenant, spend = max(per.items(), key=lambda kv: kv[1])
    if spend >= DOMINANT * long.actual:
        return {"tenant": tenant}
    burning = {
        e.cohort["tenant"]: e.windows[window].burn
        for e in evaluations
        if set(e.cohort) == {"tenant"} and e.windows[window].burn >= t.ticket.burn
    }
    # A slice that a burning tenant holds a real part of is that tenant's incident: deciding it minute by
    # minute on its excess alone made a slice flip between its own card and the tenant's. Among burning
    # tenants it goes to the one bringing it the most excess (its spend there less what its own pace
    # would make it), not the most spend: a big tenant wobbling to 1.3x must not take a model it shares
    # with a tenant at 4x, which opened a second card hours into a long incident. A tenant bringing half
    # the slice's excess holds it too, whatever its share of spend: an intent a 4x tenant is a small part
    # of crossed the slow-burn line on that tenant's excess and opened a card of its own.
    slice_excess = max(0.0, long.actual - long.expected)
    excess = {name: spend * (1 - 1 / burning[name]) for name, spend in per.items() if name in burning}
    held = [
        (extra, name)
        for name, extra in excess.items()
        if per[name] >= SLICE_SHARE * long.actual or extra >= EXCESS_SHARE * slice_excess
    ]
    if held:
        return {"tenant": max(held)[1]}
    return cohort


def group_incidents(
    firing: list[Evaluation], evaluations: Sequence[Evaluation], snap: Snapshot, t: Thresholds
) -> list[Evaluation]:
    """One evaluation per root cohort: the root's own if it fires at the highest level, else its strongest slice."""
    groups: dict[str, list[Evaluation]] = {}
    roots: dict[str, dict[str, str]] = {}
    out: list[Evaluation] = []
    for ev in firing:
        if ev.budget is not None:
            out.append(ev)
            continue
        root = find_root(ev, evaluations, snap, t)
        key = describe_cohort(root)
        roots[key] = root
        groups.setdefault(key, []).append(ev)
    for key, members in groups.items():
        root = roots[key]
        members.sort(key=lambda e: (e.level != "page", e.cohort != root, -e.windows["page_long"].burn))
        head = members[0]
        head.root = root
        head.also = [describe_cohort(e.cohort) for e in members[1:]]
        if head.cohort != root:
            head.also.insert(0, describe_cohort(head.cohort))
        out.append(head)
    return out


def find_onset(actual: Sequence[float], expected: Sequence[float], allowance: float = ONSET_ALLOWANCE) -> int | None:
    """Index of the minute the current burn began: where the running excess over expected last restarted.

    A one-sided CUSUM of spend minus (1 + allowance) x expected: clean minutes drift it down to zero, a
    burn at twice the pace or more climbs from the minute it starts, so the last restart is the onset.
    """
    score, start = 0.0, None
    for i, (x, e) in enumerate(zip(actual, expected, strict=True)):
        score = max(0.0, score + x - (1 + allowance) * e)
        if score == 0.0:
            start = None
        elif start is None:
            start = i
    return start


def onset_of(
    *,
    session: Session,
    cohort: dict[str, str],
    end: int,
    first_data: int | None,
    profile: Profile | None,
    ratio: float | None,
) -> int | None:
    """When the cohort's burn began (epoch seconds, a minute), from its minute spend against its baseline."""
    lo = max(end - ONSET_LOOKBACK_S, first_data or 0) // 60 * 60
    if end - lo < 120 or (ratio is None and (profile is None or profile.daily <= 0)):
        return None
    mine = dict(store.list_spend_series(session=session, start=lo, end=end, bucket_seconds=60, where=cohort))
    minutes = range(lo, end, 60)
    actual = [mine.get(m, 0.0) for m in minutes]
    if ratio is not None:
        total = dict(store.list_spend_series(session=session, start=lo, end=end, bucket_seconds=60))
        expected = [ratio * max(0.0, total.get(m, 0.0) - mine.get(m, 0.0)) for m in minutes]
    else:
        assert profile is not None
        expected = [profile.expected(m, m + 60) for m in minutes]
    i = find_onset(actual, expected)
    return None if i is None else lo + i * 60
