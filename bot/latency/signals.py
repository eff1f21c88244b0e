"""What the latency detector fires on, worked out from counts and histograms already loaded.

Nothing here touches storage or the clock: ``evaluate`` takes a ``Snapshot`` (the rollups of the
last hours and the baseline before them) and returns the signals firing at its ``end``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field

from bot.latency.config import LatencyBudget, LatencyConfig
from bot.latency.fold import Group, fold, provider_of, regroup
from bot.latency.share import MinuteSeries, count_above, crossing_index, share
from storage.latency import LatencyRow

LOOKBACK = 6 * 3600
"""How far back the crossing of a share alarm is looked for; an older one is reported as "before"."""
MIX_BEFORE = 0.05
MIX_NOW = 0.10
MIX_MIN_BASELINE = 100
BUDGET_LONG = 3600
BUDGET_SHORT = 300
BUDGET_MIN_LONG = 20
BUDGET_MIN_SHORT = 5
PROVIDER_LONG = 3600
PROVIDER_SHORT = 300
PROVIDER_MIN_BASELINE = 200
PROVIDER_DEFAULT_RATE = 0.02
BLOCK = 300


@dataclass
class Snapshot:
    """The rollups the detector reads at one moment ``end`` (exclusive, minute-aligned epoch seconds)."""

    end: int
    first: int
    """Where the minute rows start: an hour at least LOOKBACK plus the long window before ``end``."""
    minutes: list[tuple]
    """(minute, intent, path, requests, errors, timeouts) over [first, end)."""
    hours: list[tuple]
    """(hour, intent, path, requests, errors, timeouts) over the baseline week up to ``first``."""
    model_minutes: list[tuple]
    """(minute, model, path, requests, errors, timeouts) over the last hour."""
    model_hours: list[tuple]
    """(hour, model, requests, errors, timeouts) over the baseline week before the last hour."""
    recent: list[LatencyRow] = field(default_factory=list)
    """The last hour's rollup rows, with histograms, of the intents that need percentiles."""
    candidates: list[ShareSignal] | None = field(default=None, repr=False)
    """The share signals found from counts alone, worked out once per snapshot."""


@dataclass
class Breach:
    """A latency budget over its limit on both windows, with who contributes most to the excess."""

    budget: LatencyBudget
    percentile: float
    limit: float
    long_value: float
    short_value: float
    requests: int
    started: int
    paths: list[tuple[str, int]]
    tenants: list[tuple[str, int]]


@dataclass
class ShareSignal:
    """A path's share of an intent above the line on both windows."""

    cause: str
    intent: str
    path: str
    threshold: float
    before: float
    short_share: float
    long_share: float
    crossed: int
    crossed_known: bool
    path_group: Group
    other_group: Group
    tenants: list[tuple[str, int]]
    breaches: list[Breach] = field(default_factory=list)


@dataclass
class ProviderSignal:
    """A provider's failure rate over its own baseline on both windows."""

    provider: str
    models: list[str]
    long_rate: float
    short_rate: float
    baseline: float | None
    line: float
    failed: int
    errors: int
    timeouts: int
    traffic_share: float
    fallback_now: float
    fallback_before: float
    started: int


@dataclass
class Signals:
    shares: list[ShareSignal] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    providers: list[ProviderSignal] = field(default_factory=list)


def evaluate(snap: Snapshot, cfg: LatencyConfig) -> Signals:
    """Every latency signal firing at ``snap.end``; a breach caused by a firing share joins its signal."""
    out = Signals(shares=_shares(snap, cfg), providers=_providers(snap, cfg))
    for breach in _breaches(snap, cfg):
        owner = next(
            (
                s
                for s in out.shares
                if s.intent == breach.budget.intent
                and (breach.budget.path == s.path or (breach.paths and breach.paths[0][0] == s.path))
            ),
            None,
        )
        (owner.breaches if owner else out.breaches).append(breach)
    return out


def _shares(snap: Snapshot, cfg: LatencyConfig) -> list[ShareSignal]:
    """The share signals with their percentiles and tenants, from the recent rows of their intents."""
    if snap.candidates is None:
        snap.candidates = _candidates(snap, cfg)
    recent_long = [r for r in snap.recent if r.bucket >= snap.end - cfg.long_minutes * 60]
    out = []
    for s in snap.candidates:
        groups, others, tenants = fold(
            [r for r in recent_long if r.intent == s.intent],
            lambda r, p=s.path: r.path == p,
            lambda r, p=s.path: "all" if r.path != p else None,
            lambda r, p=s.path: r.tenant if r.path == p else None,
        )
        hit = sorted(((str(t), g.requests) for t, g in tenants.items()), key=lambda x: -x[1])
        out.append(
            dataclasses.replace(
                s, path_group=groups.get(True, Group()), other_group=others.get("all", Group()), tenants=hit
            )
        )
    return out


def _candidates(snap: Snapshot, cfg: LatencyConfig) -> list[ShareSignal]:
    """Paths above their line on both windows, from request counts alone (no histograms yet)."""
    long_s, short_m = cfg.long_minutes, cfg.short_minutes
    first = snap.first
    short_from, long_from = snap.end - short_m * 60, snap.end - long_s * 60
    per_intent: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    per_path: dict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    windows: dict[object, list[int]] = defaultdict(lambda: [0, 0])  # (short, long) requests per path and intent
    for minute, intent, path, requests, *_ in snap.minutes:
        per_intent[intent].append((minute, 0, requests))
        per_path[(intent, path)].append((minute, requests, 0))
        if minute >= long_from:
            for key in ((intent, path), intent):
                w = windows[key]
                w[1] += requests
                if minute >= short_from:
                    w[0] += requests
    base_total: dict[str, list[tuple[int, int]]] = defaultdict(list)
    base_path: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for hour, intent, path, requests, *_ in snap.hours:
        base_total[intent].append((hour, requests))
        base_path[(intent, path)].append((hour, requests))
    out: list[ShareSignal] = []
    intent_series: dict[str, MinuteSeries] = {}
    for (intent, path), counts in per_path.items():
        if not path:
            continue
        declared = path in cfg.fallback_paths
        threshold = cfg.fallback_share if declared else MIX_NOW
        sp, lp = windows[(intent, path)]
        st, lt = windows[intent]
        if lt < cfg.min_requests or st < max(1, cfg.min_requests * short_m // long_s):
            continue
        short_share, long_share = share(sp, st), share(lp, lt)
        if short_share <= threshold or long_share <= threshold:
            continue
        hourly = _hour_shares(base_path[(intent, path)], base_total[intent])
        if not declared and hourly and min(hourly.values()) > MIX_NOW:
            continue  # a main path every hour of the week: nothing shifted
        # Firing: only now is the minute series built, to find when the long window crossed.
        if intent not in intent_series:
            intent_series[intent] = MinuteSeries.build(first, snap.end, per_intent[intent])
        series = MinuteSeries.build(first, snap.end, counts)
        series = MinuteSeries(first, series.part, intent_series[intent].total)
        rolling = series.rolling_shares(long_s)
        idx = crossing_index(rolling, threshold)
        if idx is None:  # pragma: no cover - the last minute is above the line, so a run exists
            continue
        crossed = series.first + 60 * idx
        crossed_known = idx > 0 and rolling[idx - 1] is not None
        if not crossed_known:
            # Above the line for the whole minute window: walk the hours back to where the run began,
            # so an incident older than the look-back keeps one stable start.
            h = series.first - 3600
            while h in hourly and hourly[h] > threshold:
                crossed, crossed_known = h + 3600 - 60, True
                h -= 3600
            if h in hourly:
                crossed_known = True
        # The history before the first window that crossed: last week's hours, then the minutes up to it.
        cut = crossed - long_s * 60 + 60
        hour_cut = cut // 3600 * 3600
        bp = sum(n for h, n in base_path[(intent, path)] if h < hour_cut)
        bt = sum(n for h, n in base_total[intent] if h < hour_cut)
        lo_i = max(0, (hour_cut - series.first) // 60)
        hi_i = max(0, (cut - series.first) // 60)
        bp += sum(series.part[lo_i:hi_i])
        bt += sum(series.total[lo_i:hi_i])
        before = share(bp, bt)
        if not declared and (bt < MIX_MIN_BASELINE or before >= MIX_BEFORE):
            continue
        out.append(
            ShareSignal(
                cause="fallback_share" if declared else "path_mix_shift",
                intent=intent,
                path=path,
                threshold=threshold,
                before=before,
                short_share=short_share,
                long_share=long_share,
                crossed=crossed,
                crossed_known=crossed_known,
                path_group=Group(),
                other_group=Group(),
                tenants=[],
            )
        )
    return sorted(out, key=lambda s: (s.intent, s.path))


def _hour_shares(part: list[tuple[int, int]], total: list[tuple[int, int]]) -> dict[int, float]:
    totals = dict(total)
    parts = dict(part)
    return {h: parts.get(h, 0) / n for h, n in totals.items() if n}


def _matches(budget: LatencyBudget, intent: str, path: str, tenant: str) -> bool:
    return (
        intent == budget.intent
        and (budget.path is None or path == budget.path)
        and (budget.tenant is None or tenant == budget.tenant)
    )


def _breaches(snap: Snapshot, cfg: LatencyConfig) -> list[Breach]:
    out: list[Breach] = []
    long_start = snap.end - BUDGET_LONG
    last_block = (BUDGET_LONG - BUDGET_SHORT) // BLOCK
    # One pass over the hour's rows into (5-minute block, intent, path, tenant); budgets merge from there.
    (fine,) = fold(
        [r for r in snap.recent if r.bucket >= long_start],
        lambda r: ((r.bucket - long_start) // BLOCK, r.intent, r.path, r.tenant),
    )
    for budget in cfg.budgets:
        limits = budget.limits()
        if not limits:
            continue
        mine = {k: g for k, g in fine.items() if _matches(budget, *k[1:])}  # type: ignore[misc]
        whole = regroup(mine, lambda k: "all")
        short = regroup(mine, lambda k: "all" if k[0] >= last_block else None)  # type: ignore[index]
        blocks = regroup(mine, lambda k: k[0])  # type: ignore[index]
        paths = regroup(mine, lambda k: k[2])  # type: ignore[index]
        tenants = regroup(mine, lambda k: k[3])  # type: ignore[index]
        g_long, g_short = whole.get("all", Group()), short.get("all", Group())
        if g_long.measured < BUDGET_MIN_LONG or g_short.measured < BUDGET_MIN_SHORT:
            continue
        for q, limit in sorted(limits.items(), reverse=True):
            v_long, v_short = g_long.percentile(q), g_short.percentile(q)
            if v_long is None or v_short is None or v_long <= limit or v_short <= limit:
                continue
            started = snap.end - BUDGET_SHORT
            for i in sorted(blocks, reverse=True):
                v = blocks[i].percentile(q)
                if v is None or v <= limit:
                    break
                started = long_start + int(i) * BLOCK
            out.append(
                Breach(
                    budget=budget,
                    percentile=q,
                    limit=limit,
                    long_value=v_long,
                    short_value=v_short,
                    requests=g_long.requests,
                    started=started,
                    paths=_top(paths, limit),
                    tenants=_top(tenants, limit),
                )
            )
            break  # the highest breached percentile tells the story; one breach per budget
    return out


def _top(groups: dict, limit: float, n: int = 3) -> list[tuple[str, int]]:
    """The groups with the most requests slower than ``limit``: who contributes most to the excess."""
    slow = sorted(((str(k), count_above(g.hist, limit)) for k, g in groups.items()), key=lambda x: -x[1])
    return [(k, c) for k, c in slow[:n] if c > 0]


def needed_intents(snap: Snapshot, cfg: LatencyConfig) -> set[str]:
    """The intents whose histograms ``evaluate`` reads: budgeted ones and those with a share firing."""
    if snap.candidates is None:
        snap.candidates = _candidates(snap, cfg)
    return {b.intent for b in cfg.budgets} | {s.intent for s in snap.candidates}


def _providers(snap: Snapshot, cfg: LatencyConfig) -> list[ProviderSignal]:
    long_start, short_start = snap.end - PROVIDER_LONG, snap.end - PROVIDER_SHORT
    long: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    short: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    blocks: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    models: dict[str, set[str]] = defaultdict(set)
    fb_now = [0, 0]
    for minute, model, path, requests, errors, timeouts in snap.model_minutes:
        if minute < long_start:
            continue
        provider = provider_of(model)
        acc = long[provider]
        acc[0] += requests
        acc[1] += errors
        acc[2] += timeouts
        blk = blocks[provider][(minute - long_start) // BLOCK]
        blk[0] += requests
        blk[1] += errors + timeouts
        if errors or timeouts:
            models[provider].add(model)
        if minute >= short_start:
            short[provider][0] += requests
            short[provider][1] += errors + timeouts
            fb_now[1] += requests
            fb_now[0] += requests if path in cfg.fallback_paths else 0
    base: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, model, requests, errors, timeouts in snap.model_hours:
        acc = base[provider_of(model)]
        acc[0] += requests
        acc[1] += errors + timeouts
    fb_base = [0, 0]
    for _, _, path, requests, *_ in snap.hours:
        fb_base[1] += requests
        fb_base[0] += requests if path in cfg.fallback_paths else 0
    total = sum(v[0] for v in long.values())
    out: list[ProviderSignal] = []
    for provider, (requests, errors, timeouts) in long.items():
        s_req, s_fail = short.get(provider, [0, 0])
        failed = errors + timeouts
        if requests < 30 or s_req < 5 or failed < 5:
            continue
        b_req, b_fail = base.get(provider, [0, 0])
        baseline = b_fail / b_req if b_req >= PROVIDER_MIN_BASELINE else None
        ref = PROVIDER_DEFAULT_RATE if baseline is None else baseline
        line = max(3 * ref, ref + 0.05)
        long_rate, short_rate = failed / requests, s_fail / s_req
        if long_rate <= line or short_rate <= line:
            continue
        started = short_start
        for i in sorted(blocks[provider], reverse=True):
            b_n, b_f = blocks[provider][i]
            if b_n == 0 or b_f / b_n <= line:
                break
            started = long_start + int(i) * BLOCK
        out.append(
            ProviderSignal(
                provider=provider,
                models=sorted(models[provider]),
                long_rate=long_rate,
                short_rate=short_rate,
                baseline=baseline,
                line=line,
                failed=failed,
                errors=errors,
                timeouts=timeouts,
                traffic_share=share(requests, total),
                fallback_now=share(fb_now[0], fb_now[1]),
                fallback_before=share(fb_base[0], fb_base[1]),
                started=started,
            )
        )
    return sorted(out, key=lambda p: p.provider)
