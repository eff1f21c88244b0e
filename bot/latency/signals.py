"""What the latency detector fires on, worked out from counts and histograms already loaded.

Nothing here touches storage or the clock: ``evaluate`` takes a ``Snapshot`` (the rollups of the
last hours and the baseline before them) and returns the signals firing at its ``end``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bot.latency.config import LatencyBudget, LatencyConfig
from bot.latency.fold import Group, fold, provider_of
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
    recent: list[LatencyRow]
    """Every rollup row of the last hour, with histograms."""
    model_hours: list[tuple]
    """(hour, model, requests, errors, timeouts) over the baseline week before the last hour."""


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
    long_s, short_m = cfg.long_minutes, cfg.short_minutes
    first = snap.first
    per_intent: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    per_path: dict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for minute, intent, path, requests, *_ in snap.minutes:
        per_intent[intent].append((minute, 0, requests))
        per_path[(intent, path)].append((minute, requests, 0))
    base_total: dict[str, list[tuple[int, int]]] = defaultdict(list)
    base_path: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for hour, intent, path, requests, *_ in snap.hours:
        base_total[intent].append((hour, requests))
        base_path[(intent, path)].append((hour, requests))
    recent_long = [r for r in snap.recent if r.bucket >= snap.end - long_s * 60]
    out: list[ShareSignal] = []
    for (intent, path), counts in per_path.items():
        if not path:
            continue
        declared = path in cfg.fallback_paths
        threshold = cfg.fallback_share if declared else MIX_NOW
        series = MinuteSeries.build(first, snap.end, counts + per_intent[intent])
        last = len(series.part) - 1
        sp, st = series.window(last, short_m)
        lp, lt = series.window(last, long_s)
        if lt < cfg.min_requests or st < max(1, cfg.min_requests * short_m // long_s):
            continue
        short_share, long_share = share(sp, st), share(lp, lt)
        if short_share <= threshold or long_share <= threshold:
            continue
        rolling = series.rolling_shares(long_s)
        idx = crossing_index(rolling, threshold)
        if idx is None:  # pragma: no cover - the last minute is above the line, so a run exists
            continue
        crossed = series.first + 60 * idx
        crossed_known = idx > 0 and rolling[idx - 1] is not None
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
        groups, others, tenants = fold(
            [r for r in recent_long if r.intent == intent],
            lambda r, p=path: r.path == p,
            lambda r, p=path: "all" if r.path != p else None,
            lambda r, p=path: r.tenant if r.path == p else None,
        )
        hit = sorted(((str(t), g.requests) for t, g in tenants.items()), key=lambda x: -x[1])
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
                path_group=groups.get(True, Group()),
                other_group=others.get("all", Group()),
                tenants=hit,
            )
        )
    return sorted(out, key=lambda s: (s.intent, s.path))


def _matches(row: LatencyRow, budget: LatencyBudget) -> bool:
    return (
        row.intent == budget.intent
        and (budget.path is None or row.path == budget.path)
        and (budget.tenant is None or row.tenant == budget.tenant)
    )


def _breaches(snap: Snapshot, cfg: LatencyConfig) -> list[Breach]:
    out: list[Breach] = []
    long_start, short_start = snap.end - BUDGET_LONG, snap.end - BUDGET_SHORT
    for budget in cfg.budgets:
        limits = budget.limits()
        if not limits:
            continue
        rows = [r for r in snap.recent if r.bucket >= long_start and _matches(r, budget)]
        whole, short, blocks, paths, tenants = fold(
            rows,
            lambda r: "all",
            lambda r: "all" if r.bucket >= short_start else None,
            lambda r: (r.bucket - long_start) // BLOCK,
            lambda r: r.path,
            lambda r: r.tenant,
        )
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


def _providers(snap: Snapshot, cfg: LatencyConfig) -> list[ProviderSignal]:
    long_start, short_start = snap.end - PROVIDER_LONG, snap.end - PROVIDER_SHORT
    rows = [r for r in snap.recent if r.bucket >= long_start]
    by_provider, short, blocks, everything, fb_short = fold(
        rows,
        lambda r: provider_of(r.model),
        lambda r: provider_of(r.model) if r.bucket >= short_start else None,
        lambda r: (provider_of(r.model), (r.bucket - long_start) // BLOCK),
        lambda r: "all",
        lambda r: (r.path in cfg.fallback_paths) if r.bucket >= short_start else None,
    )
    base: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    models: dict[str, set[str]] = defaultdict(set)
    for _, model, requests, errors, timeouts in snap.model_hours:
        acc = base[provider_of(model)]
        acc[0] += requests
        acc[1] += errors + timeouts
    for r in rows:
        if r.errors or r.timeouts:
            models[provider_of(r.model)].add(r.model)
    fb_base = [0, 0]
    for _, _, path, requests, *_ in snap.hours:
        fb_base[1] += requests
        fb_base[0] += requests if path in cfg.fallback_paths else 0
    total = everything.get("all", Group()).requests
    fb_now_total = sum(g.requests for g in fb_short.values())
    out: list[ProviderSignal] = []
    for provider, g in by_provider.items():
        s = short.get(provider, Group())
        failed = g.errors + g.timeouts
        if g.requests < 30 or s.requests < 5 or failed < 5:
            continue
        b_req, b_fail = base.get(provider, [0, 0])
        baseline = b_fail / b_req if b_req >= PROVIDER_MIN_BASELINE else None
        ref = PROVIDER_DEFAULT_RATE if baseline is None else baseline
        line = max(3 * ref, ref + 0.05)
        long_rate, short_rate = failed / g.requests, (s.errors + s.timeouts) / s.requests
        if long_rate <= line or short_rate <= line:
            continue
        started = short_start
        for i in sorted((i for p, i in blocks if p == provider), reverse=True):
            blk = blocks[(provider, i)]
            if blk.requests == 0 or (blk.errors + blk.timeouts) / blk.requests <= line:
                break
            started = long_start + int(i) * BLOCK
        out.append(
            ProviderSignal(
                provider=str(provider),
                models=sorted(models[provider]),
                long_rate=long_rate,
                short_rate=short_rate,
                baseline=baseline,
                line=line,
                failed=failed,
                errors=g.errors,
                timeouts=g.timeouts,
                traffic_share=share(g.requests, total),
                fallback_now=share(fb_short.get(True, Group()).requests, fb_now_total),
                fallback_before=share(fb_base[0], fb_base[1]),
                started=started,
            )
        )
    return sorted(out, key=lambda p: p.provider)
