"""The ``latency`` detector: fallback paths turning primary, path-mix shifts, budget breaches, provider errors.

A pure evaluation at ``now``: it reads the rollups of the last hours (and the week before them
for baselines), returns what is firing and writes nothing; the alarm state lives in the kernel.
Findings are per intent (and path) or per provider, never per tenant: the tenants hit are listed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.cards.text import render
from bot.detectors import Finding
from bot.latency.config import LatencyConfig
from bot.latency.signals import LOOKBACK, Breach, ProviderSignal, ShareSignal, Snapshot, evaluate, needed_intents
from bot.services import Services
from storage import latency as store

DETECTOR = "latency"
RUNBOOK = "latency-fallback-path"
PROVIDER_RUNBOOK = "provider-outage"
PROVIDER_FLAG = "assistant.retries"
BASELINE_DAYS = 7
Q_NAMES = {0.5: "P50", 0.95: "P95", 0.99: "P99"}


def load_snapshot(services: Services, end: int, cfg: LatencyConfig) -> Snapshot:
    """The rollups ``evaluate`` needs at ``end``: minutes of the last hours, hours of the week before."""
    minutes_from = (end - LOOKBACK - cfg.long_minutes * 60) // 3600 * 3600
    hours_to = minutes_from
    hours_from = (end - BASELINE_DAYS * 86400) // 3600 * 3600
    recent_from = end - max(3600, cfg.long_minutes * 60)
    model_cut = (end - 3600) // 3600 * 3600
    with services.db.session() as session:
        minutes = store.list_counts(session=session, start=minutes_from, end=end)
        hours = store.list_counts(session=session, start=hours_from, end=hours_to, bucket_seconds=3600)
        model_hours = store.list_counts(
            session=session, start=hours_from, end=model_cut, bucket_seconds=3600, dims=("model",)
        )
        model_minutes = store.list_counts(session=session, start=end - 3600, end=end, dims=("model", "path"))
        snap = Snapshot(
            end=end,
            first=minutes_from,
            minutes=minutes,
            hours=hours,
            model_minutes=model_minutes,
            model_hours=model_hours,
        )
        intents = needed_intents(snap, cfg)
        if intents:
            snap.recent = store.list_latency_rows(session=session, start=recent_from, end=end, intents=sorted(intents))
    return snap


def detect(services: Services, now: datetime) -> list[Finding]:
    """Every latency finding firing at ``now`` (the last complete minute), from the rollups only."""
    cfg = services.settings.file.latency
    end = int(now.timestamp()) // 60 * 60
    snap = load_snapshot(services, end, cfg)
    signals = evaluate(snap, cfg)
    findings = [share_finding(s, services, end, cfg) for s in signals.shares]
    findings += [breach_finding(b) for b in signals.breaches]
    findings += [provider_finding(p, services, end) for p in signals.providers]
    return findings


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _ms(v: float | None) -> str:
    return "—" if v is None else (f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.0f} ms")


def make_finding(
    *, key: str, cause: str, runbook: str, incident: str, suggested_flag: str | None, labels: dict[str, str], **kw: Any
) -> Finding:
    """A latency finding; ``cause`` rides in the labels too, so the runbook matcher and the card see it."""
    return Finding(
        detector=DETECTOR,
        key=key,
        labels={"cause": cause, **labels},
        cause=cause,
        runbook=runbook,
        incident=incident,
        suggested_flag=suggested_flag,
        **kw,
    )


def _breach_lines(breaches: list[Breach]) -> list[tuple[str, str]]:
    lines = []
    for br in breaches:
        who = ", ".join(f"{p} ({n})" for p, n in br.paths) or "—"
        lines.append(
            (
                f"Budget {Q_NAMES[br.percentile]} ({br.budget.describe()})",
                f"{_ms(br.long_value)} over 1 h, {_ms(br.short_value)} over 5 min against {_ms(br.limit)}; "
                f"slow requests by path: {who}",
            )
        )
    return lines


def share_finding(s: ShareSignal, services: Services, end: int, cfg: LatencyConfig) -> Finding:
    """The card of a path that became a primary path for an intent (declared fallback or not)."""
    with services.db.session() as session:
        long_start = end - cfg.long_minutes * 60
        users = store.list_users_hit(session=session, start=long_start, end=end, intent=s.intent, path=s.path)
        samples = store.list_slowest(
            session=session, start=end - cfg.short_minutes * 60, end=end, where={"intent": s.intent, "path": s.path}
        )
    key = f"{DETECTOR}:{s.cause}:{s.intent}:{s.path}"
    p = s.path_group
    o = s.other_group
    figures = [
        ("Share of the intent", f"{s.before:.1%} before → {s.short_share:.1%} (15 min), {s.long_share:.1%} (1 h)"),
        ("Crossed", ("" if s.crossed_known else "before ") + f"{_at(s.crossed):%Y-%m-%d %H:%M} UTC"),
        (f"{s.path} P50 / P95 / P99", " / ".join(_ms(p.percentile(q)) for q in (0.5, 0.95, 0.99))),
        ("Other paths P50 / P95 / P99", " / ".join(_ms(o.percentile(q)) for q in (0.5, 0.95, 0.99))),
        ("Tenants hit", ", ".join(f"{t} ({n})" for t, n in s.tenants[:8]) or "—"),
        ("Users hit (1 h)", str(users)),
        *_breach_lines(s.breaches),
    ]
    summary = render(
        "latency_share.md.j2",
        cause=s.cause,
        intent=s.intent,
        path=s.path,
        threshold=s.threshold,
        before=s.before,
        now=s.short_share,
        crossed=_at(s.crossed),
        crossed_known=s.crossed_known,
        p50=_ms(p.percentile(0.5)),
        p95=_ms(p.percentile(0.95)),
        breached=bool(s.breaches),
    )
    noun = "fallback path" if s.cause == "fallback_share" else "path"
    return make_finding(
        key=key,
        cause=s.cause,
        runbook=RUNBOOK,
        incident=key,
        suggested_flag=None,
        labels={"intent": s.intent, "path": s.path},
        status="firing",
        severity="high" if s.breaches else "medium",
        title=f"Latency: {noun} {s.path} now serves {s.short_share:.0%} of {s.intent}"[:150],
        summary=str(summary),
        started_at=_at(s.crossed),
        figures=figures,
        sample_request_ids=samples,
    )


def breach_finding(br: Breach) -> Finding:
    """A budget over its limit that no share shift explains."""
    scope = {k: v for k, v in br.budget.scope.items() if k != "tenant"}
    key = f"{DETECTOR}:budget_breach:{br.budget.describe().replace(' ', ':')}"
    summary = render(
        "latency_budget.md.j2",
        budget=br.budget.describe(),
        q=Q_NAMES[br.percentile],
        long=_ms(br.long_value),
        short=_ms(br.short_value),
        limit=_ms(br.limit),
        paths=[f"{p} ({n})" for p, n in br.paths],
        tenants=[f"{t} ({n})" for t, n in br.tenants],
    )
    return make_finding(
        key=key,
        cause="budget_breach",
        runbook=RUNBOOK,
        incident=key,
        suggested_flag=None,
        labels=scope,
        status="firing",
        severity="high" if br.short_value >= 1.5 * br.limit else "medium",
        title=f"Latency: {Q_NAMES[br.percentile]} of {br.budget.describe()} over budget"[:150],
        summary=str(summary),
        started_at=_at(br.started),
        figures=[
            *_breach_lines([br]),
            ("Tenants hit", ", ".join(f"{t} ({n})" for t, n in br.tenants) or "—"),
            ("Requests (1 h)", f"{br.requests:,}"),
        ],
    )


def provider_finding(p: ProviderSignal, services: Services, end: int) -> Finding:
    """A provider failing above its own baseline: what it answered and whether fallbacks absorb it."""
    with services.db.session() as session:
        failures = store.list_failures(session=session, start=end - 3600, end=end, models=p.models)
    key = f"{DETECTOR}:provider_errors:{p.provider}"
    seen = ", ".join(f"{s}{'/' + r if r else ''} ×{n}" for s, r, n in failures) or "—"
    summary = render(
        "latency_provider.md.j2",
        provider=p.provider,
        long=p.long_rate,
        short=p.short_rate,
        baseline=p.baseline,
        share=p.traffic_share,
        fb_now=p.fallback_now,
        fb_before=p.fallback_before,
    )
    return make_finding(
        key=key,
        cause="provider_errors",
        runbook=PROVIDER_RUNBOOK,
        incident=key,
        suggested_flag=PROVIDER_FLAG,
        labels={"provider": p.provider},
        status="firing",
        severity="critical" if p.short_rate >= 0.25 else "high",
        title=f"Latency: {p.provider} errors and timeouts at {p.short_rate:.0%}"[:150],
        summary=str(summary),
        started_at=_at(p.started),
        figures=[
            ("Failure rate", f"{p.long_rate:.1%} (1 h), {p.short_rate:.1%} (5 min), line {p.line:.1%}"),
            ("Baseline", "not enough history" if p.baseline is None else f"{p.baseline:.2%}"),
            ("Errors / timeouts (1 h)", f"{p.errors} / {p.timeouts}"),
            ("Status seen", seen),
            ("Models", ", ".join(p.models) or "—"),
            ("Share of traffic", f"{p.traffic_share:.0%}"),
            ("Fallback paths", f"{p.fallback_now:.1%} of the last 5 min (was {p.fallback_before:.1%})"),
        ],
    )
