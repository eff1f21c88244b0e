"""What the detector reads: window totals per cohort (one rollup query per window) and its baselines.

Seasonal profiles come from the hourly rollups of whole past days; relative baselines (a young
cohort's pace as a share of the rest of traffic) from every whole hour with data. Both change
slowly, so they are cached per database and refreshed at most once per simulated (or real) hour.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from sqlmodel import Session

from bot.cost.burn import Profile, build_profile
from bot.services import Services
from storage import cost as store
from storage import rollups


@dataclass
class Snapshot:
    """Spend and requests of every cohort combination in each named window."""

    dims: list[str]
    rows: dict[str, list[tuple[tuple[str, ...], float, int]]] = field(default_factory=dict)
    _sums: dict[str, dict[tuple[int, str] | None, tuple[float, int]]] = field(default_factory=dict, repr=False)

    def _index(self, window: str) -> dict[tuple[int, str] | None, tuple[float, int]]:
        """Totals per single (dimension, value) and overall, summed once per window: the common lookups."""
        if window not in self._sums:
            acc: dict[tuple[int, str] | None, list[float]] = {None: [0.0, 0]}
            for vals, cost, n in self.rows[window]:
                for key in (None, *enumerate(vals)):
                    a = acc.setdefault(key, [0.0, 0])
                    a[0] += cost
                    a[1] += n
            self._sums[window] = {k: (v[0], int(v[1])) for k, v in acc.items()}
        return self._sums[window]

    def _total(self, window: str, cohort: dict[str, str]) -> tuple[float, int]:
        if len(cohort) <= 1:
            key = next(((self.dims.index(k), v) for k, v in cohort.items()), None)
            return self._index(window).get(key, (0.0, 0))
        tests = [(self.dims.index(k), v) for k, v in cohort.items()]
        matched = [(c, n) for vals, c, n in self.rows[window] if all(vals[i] == v for i, v in tests)]
        return sum(c for c, _ in matched), sum(n for _, n in matched)

    def actual(self, window: str, cohort: dict[str, str]) -> float:
        return self._total(window, cohort)[0]

    def requests(self, window: str, cohort: dict[str, str]) -> int:
        return self._total(window, cohort)[1]

    def values(self, dim: str) -> list[str]:
        """Values of a dimension with traffic in any window (the cohorts to evaluate)."""
        i = self.dims.index(dim)
        return sorted({vals[i] for rows in self.rows.values() for vals, _, _ in rows})


def take_snapshot(
    *, session: Session, bounds: dict[str, tuple[int, int]], dims: Sequence[str], cache_key: object = None
) -> Snapshot:
    """Read each window once, grouped by every dimension evaluated; cohorts are summed from these rows.

    Windows ending together are read in one pass over minute rows; a long window adds its whole hours
    from hourly rows, and with a ``cache_key`` the settled ones (older than SETTLED_S) come from a cache.
    """
    snap = Snapshot(dims=list(dims))
    ends = {hi for _, hi in bounds.values()}
    if len(ends) != 1 or len(bounds) < 2:
        for name, (lo, hi) in bounds.items():
            stats = rollups.list_cohorts(session=session, start=lo, end=hi, group_by=list(dims))
            snap.rows[name] = [
                (tuple(s.cohort[d] for d in dims), float(s.totals["cost_usd"]), int(s.totals["requests"]))
                for s in stats
            ]
        return snap
    end = ends.pop()
    h1 = end // 3600 * 3600
    long = {n: lo for n, (lo, _) in bounds.items() if end - lo >= rollups.HOURLY_FROM_SECONDS}
    starts = {n: lo for n, (lo, _) in bounds.items() if n not in long}
    if long:
        starts["__tail"] = h1
    got = store.list_window_spend(session=session, end=end, starts=starts, dimensions=dims)
    tail = got.pop("__tail", [])
    snap.rows.update(got)
    for name, lo in long.items():
        h0 = -(-lo // 3600) * 3600
        settled = max(h0, h1 - SETTLED_S)
        parts = [
            _settled_hours(session, dims, h0, settled, cache_key),
            _grouped(session, dims, settled, h1, hourly=True),
            _grouped(session, dims, lo, h0, hourly=False),
            tail,
        ]
        acc: dict[tuple[str, ...], list[float]] = {}
        for rows in parts:
            for vals, cost, n in rows:
                a = acc.setdefault(vals, [0.0, 0])
                a[0] += cost
                a[1] += n
        snap.rows[name] = [(vals, c, int(n)) for vals, (c, n) in acc.items()]
    return snap


def _grouped(
    session: Session, dims: Sequence[str], lo: int, hi: int, *, hourly: bool
) -> list[tuple[tuple[str, ...], float, int]]:
    if hi <= lo:
        return []
    return store.list_cohort_spend(session=session, start=lo, end=hi, dimensions=dims, hourly=hourly)


def _settled_hours(
    session: Session, dims: Sequence[str], lo: int, hi: int, cache_key: object
) -> list[tuple[tuple[str, ...], float, int]]:
    """Hourly rows of whole hours that no longer change, cached per hour when the caller gives a key."""
    if hi <= lo:
        return []
    if cache_key is None:
        return _grouped(session, dims, lo, hi, hourly=True)
    key = ("hours", cache_key, tuple(dims), lo, hi)
    with _LOCK:
        hit = _SETTLED.get(key)
    if hit is None:
        hit = _grouped(session, dims, lo, hi, hourly=True)
        with _LOCK:
            for k in [k for k in _SETTLED if k[:3] == key[:3]]:
                del _SETTLED[k]
            _SETTLED[key] = hit
    return hit


@dataclass(frozen=True)
class Relative:
    """A young cohort's baseline: its spend as a ratio of the rest of traffic's, the median over whole hours.

    The rest of traffic carries the daily cycle, so a cohort with hours rather than days of history is
    still judged against the pace of the hour; the median keeps the incident's own hours out of it.
    """

    ratio: float
    hours: int
    first: int
    """The first hour the cohort had spend in."""
    share: float
    """The cohort's share of all spend over those hours: near 1 there is no rest of traffic to compare with."""
    cost_per_request: float
    noise_unit: float


@dataclass
class ProfileSet:
    """Seasonal profiles of all traffic, of each dimension value, and (on demand) of any budget's cohort.

    ``rows`` run to ``recent_end`` (the last whole hour); seasonal profiles use those before ``end`` (whole
    days), relative baselines all of them. ``first_data`` is the first minute of any traffic.
    """

    dims: list[str]
    rows: list[tuple[int, tuple[str, ...], float, int]]
    start: int
    end: int
    recent_end: int = 0
    first_data: int | None = None
    cache: dict[tuple[tuple[str, str], ...], Profile] = field(default_factory=dict)
    _relative: dict[tuple[int, str], Relative] | None = field(default=None, repr=False)

    def get(self, cohort: dict[str, str]) -> Profile | None:
        key = _key(cohort)
        if key not in self.cache:
            if any(k not in self.dims for k in cohort):
                return None
            tests = [(self.dims.index(k), v) for k, v in cohort.items()]
            hourly = [(b, c, n) for b, vals, c, n in self.rows if all(vals[i] == v for i, v in tests) and b < self.end]
            self.cache[key] = build_profile(hourly, history_start=self.start, history_end=self.end)
        return self.cache[key]

    def prime(self) -> None:
        """Build the single-dimension profiles in one pass over the rows."""
        per: dict[tuple[int, str], list[tuple[int, float, int]]] = defaultdict(list)
        total: list[tuple[int, float, int]] = []
        for bucket, vals, cost, n in self.rows:
            if bucket >= self.end:
                continue
            row = (bucket, cost, n)
            total.append(row)
            for i, v in enumerate(vals):
                per[(i, v)].append(row)
        self.cache[_key({})] = build_profile(total, history_start=self.start, history_end=self.end)
        for (i, v), hourly in per.items():
            key = _key({self.dims[i]: v})
            self.cache[key] = build_profile(hourly, history_start=self.start, history_end=self.end)

    def relative(self, cohort: dict[str, str]) -> Relative | None:
        """A single-dimension cohort's relative baseline (all traffic's for ``{}``), or None without a whole hour."""
        if self._relative is None:
            self._relative = _relatives(self.rows, self.recent_end)
        if not cohort:
            return self._relative.get((-1, ""))
        if len(cohort) != 1:
            return None
        ((dim, value),) = cohort.items()
        if dim not in self.dims:
            return None
        return self._relative.get((self.dims.index(dim), value))


def _relatives(rows: list[tuple[int, tuple[str, ...], float, int]], end: int) -> dict[tuple[int, str], Relative]:
    """Every (dimension, value)'s relative baseline in one pass over the hourly rows before ``end``."""
    total: dict[int, float] = defaultdict(float)
    per: dict[tuple[int, str], dict[int, list[float]]] = defaultdict(dict)
    for bucket, vals, cost, n in rows:
        if bucket >= end:
            continue
        total[bucket] += cost
        for i, v in ((-1, ""), *enumerate(vals)):
            acc = per[(i, v)].setdefault(bucket, [0.0, 0.0, 0.0])
            acc[0] += cost
            acc[1] += n
            acc[2] += cost * cost / n if n > 0 else 0.0
    out: dict[tuple[int, str], Relative] = {}
    for key, hours in per.items():
        first = min(hours)
        ratios, mine, all_ = [], 0.0, 0.0
        for h in range(first, end, 3600):
            cost = hours[h][0] if h in hours else 0.0
            rest = total.get(h, 0.0) - cost
            mine, all_ = mine + cost, all_ + total.get(h, 0.0)
            if rest > 0:
                ratios.append(cost / rest)
        spend = sum(a[0] for a in hours.values())
        requests = sum(a[1] for a in hours.values())
        squares = sum(a[2] for a in hours.values())
        out[key] = Relative(
            ratio=median(ratios) if ratios else 0.0,
            hours=(end - first) // 3600,
            first=first,
            share=mine / all_ if all_ > 0 else 1.0,
            cost_per_request=spend / requests if requests else 0.0,
            noise_unit=squares / spend if spend > 0 else 0.0,
        )
    return out


def _key(cohort: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(cohort.items()))


_CACHE: dict[tuple, tuple[int, ProfileSet]] = {}
_SPENT: dict[tuple, float] = {}
_SETTLED: dict[tuple, list[tuple[tuple[str, ...], float, int]]] = {}
_LOCK = threading.Lock()
SETTLED_S = 3600
"""Spend of hours older than this is cached; the most recent hour is read again each run, late events included."""


def clear_cache() -> None:
    """Forget cached profiles and period spend (tests, and after a backfill of past days)."""
    with _LOCK:
        _CACHE.clear()
        _SPENT.clear()
        _SETTLED.clear()


def period_spend(services: Services, *, session: Session, cohort: dict[str, str], start: int, end: int) -> float:
    """A budget cohort's spend over [start, end): settled whole hours cached per hour, the rest read each run."""
    settled = max(start, end // 3600 * 3600 - SETTLED_S)
    key = (services.db.url, store.cohort_json(cohort), start, settled)
    with _LOCK:
        cached = _SPENT.get(key)
    if cached is None:
        got = rollups.list_cohorts(session=session, start=start, end=settled, where=cohort) if settled > start else []
        cached = float(got[0].totals["cost_usd"]) if got else 0.0
        with _LOCK:
            for k in [k for k in _SPENT if k[:3] == key[:3]]:
                del _SPENT[k]
            _SPENT[key] = cached
    h1 = end // 3600 * 3600
    fresh = [(settled, h1, True), (max(settled, h1), end, False)]
    return cached + sum(
        cost
        for lo, hi, hourly in fresh
        if hi > lo
        for _, cost, _ in store.list_cohort_spend(
            session=session, start=lo, end=hi, dimensions=[], hourly=hourly, where=cohort
        )
    )


def load_profiles(services: Services, *, session: Session, end: int, dims: Sequence[str], days: int) -> ProfileSet:
    """Profiles from whole days before ``end``'s day over ``days`` days, relative baselines to ``end``'s hour.

    Cached per hour of ``end``: an hour's rows settle once it is over.
    """
    hist_end = end // 86400 * 86400
    hist_start = hist_end - days * 86400
    recent_end = end // 3600 * 3600
    key = (services.db.url, tuple(dims), days, recent_end)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit:
            return hit[1]
    rows = store.list_hourly_spend(session=session, start=hist_start, end=recent_end, dimensions=dims)
    first = store.get_first_bucket(session=session, start=hist_start, end=end)
    profiles = ProfileSet(
        dims=list(dims), rows=rows, start=hist_start, end=hist_end, recent_end=recent_end, first_data=first
    )
    profiles.prime()
    with _LOCK:
        for k in [k for k in _CACHE if k[0] == services.db.url]:
            del _CACHE[k]
        _CACHE[key] = (end, profiles)
    return profiles
