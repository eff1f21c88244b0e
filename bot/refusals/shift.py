"""The refusal_shift detector: a CUSUM per category (and per busy tenant) on the rollups, every few minutes.

Each run rebuilds the CUSUM over the last WINDOW from 5-minute buckets, against a baseline from the
cohort's own preceding BASELINE_DAYS. The kernel keeps the open alarms; this detector reads them to keep
a shift's key and to hold an open shift with the CUSUM's lower (hysteresis) threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.cards.text import pct, render
from bot.detectors import Finding, open_alarms
from bot.detectors.kernel import OpenAlarm
from bot.refusals.stats import CusumResult, ShiftParams, baseline_rate, cusum, is_shift, wilson
from bot.services import Services
from storage import refusals as store
from storage import rollups
from storage.alarms import DetectorAlarm
from storage.refusals_models import ModelSnapshot

DETECTOR = "refusal_shift"
STEP = 300
WINDOW = 24 * 3600
BASELINE_DAYS = 7
TENANT_MIN_BASELINE_REQUESTS = 20_000
"""A tenant's own cohort is tested only with this much baseline traffic in a category (about 120 an hour)."""
SNAPSHOT_BEFORE = timedelta(hours=2)
SNAPSHOT_AFTER = timedelta(hours=1)
SAMPLES = 5


@dataclass(frozen=True)
class Scope:
    """What one test covers: a category, optionally within one tenant."""

    category: str
    tenant: str | None = None

    @property
    def key(self) -> str:
        """The alarm-table key and part of the finding key."""
        return f"tenant={self.tenant},category={self.category}" if self.tenant else f"category={self.category}"

    @property
    def where(self) -> dict[str, str]:
        """The cohort filter for rollups, samples and snapshots."""
        return {"category": self.category, **({"tenant": self.tenant} if self.tenant else {})}


@dataclass(frozen=True)
class Evaluation:
    """One scope's test at one moment, with what a card needs to explain it."""

    scope: Scope
    result: CusumResult
    baseline_requests: int
    baseline_refusals: int
    p0: float
    started_at: datetime | None


def window_bounds(now: datetime) -> tuple[int, int, int]:
    """(baseline start, window start, end) in epoch seconds: whole minutes only, the window on 5-minute steps."""
    end = int(now.timestamp()) // 60 * 60
    start = (end - WINDOW) // STEP * STEP
    return start - BASELINE_DAYS * 86400, start, end


def evaluate(services: Services, now: datetime, params: ShiftParams) -> list[Evaluation]:
    """Test every category, and every tenant's category with enough traffic, at ``now``."""
    base_start, start, end = window_bounds(now)
    with services.db.session() as session:
        base_cat = rollups.list_cohorts(session=session, start=base_start, end=start, group_by=["category"])
        base_ten = rollups.list_cohorts(session=session, start=base_start, end=start, group_by=["tenant", "category"])
        by_cat = store.list_refusal_series(session=session, start=start, end=end, step=STEP, group_by=["category"])
        by_ten = store.list_refusal_series(
            session=session, start=start, end=end, step=STEP, group_by=["tenant", "category"]
        )
    baselines: dict[Scope, tuple[int, int]] = {}
    for s in base_cat:
        baselines[Scope(s.cohort["category"])] = (int(s.totals["requests"]), int(s.totals["refusals"]))
    for s in base_ten:
        if s.totals["requests"] >= TENANT_MIN_BASELINE_REQUESTS:
            scope = Scope(s.cohort["category"], s.cohort["tenant"])
            baselines[scope] = (int(s.totals["requests"]), int(s.totals["refusals"]))
    series: dict[Scope, list[tuple[int, int, int]]] = {}
    for bucket, (category,), n, k in by_cat:
        series.setdefault(Scope(category), []).append((bucket, n, k))
    for bucket, (tenant, category), n, k in by_ten:
        series.setdefault(Scope(category, tenant), []).append((bucket, n, k))
    out = []
    for scope, (n0, k0) in sorted(baselines.items(), key=lambda kv: kv[0].key):
        p0 = baseline_rate(n0, k0, params)
        points = series.get(scope)
        if not scope.category or p0 is None or not points:
            continue
        result = cusum([(n, k) for _, n, k in points], p0, params)
        started = datetime.fromtimestamp(points[result.start][0], UTC) if result.start is not None else None
        out.append(Evaluation(scope, result, n0, k0, p0, started))
    return out


def detect(services: Services, now: datetime, params: ShiftParams | None = None) -> list[Finding]:
    """The detector: a firing finding per shift (new or still open); the kernel resolves those that clear."""
    params = params or ShiftParams()
    evaluations = evaluate(services, now, params)
    alarms = {a.memo.get("scope", ""): a for a in open_alarms(services, DETECTOR).values()}
    shifted = [e for e in evaluations if is_shift(e.result, params, open_alarm=e.scope.key in alarms)]
    firing_categories = {e.scope.category for e in shifted if e.scope.tenant is None}
    # A tenant's shift inside a category that shifts as a whole is the same story: one card, the category's.
    # A tenant's alarm opened before its category's keeps being reported rather than resolved.
    firing = [
        (e, alarms.get(e.scope.key))
        for e in shifted
        if e.scope.tenant is None or e.scope.category not in firing_categories or e.scope.key in alarms
    ]
    return [_firing_finding(services, e, now, alarm, params) for e, alarm in firing]


def _firing_finding(
    services: Services, e: Evaluation, now: datetime, alarm: OpenAlarm | None, params: ShiftParams
) -> Finding:
    started_at = alarm.started_at if alarm else (e.started_at or now)
    start_s = int(e.started_at.timestamp()) if e.started_at else int(now.timestamp()) // 60 * 60
    end_s = int(now.timestamp()) // 60 * 60
    with services.db.session() as session:
        snapshots = store.list_snapshots(
            session=session,
            since_ms=int((started_at - SNAPSHOT_BEFORE).timestamp() * 1000),
            until_ms=int(min(started_at + SNAPSHOT_AFTER, now).timestamp() * 1000),
            where=e.scope.where,
        )
        models = rollups.list_cohorts(
            session=session, start=start_s, end=end_s, group_by=["model"], where=e.scope.where
        )
        samples = store.list_refused_samples(
            session=session, since_ms=start_s * 1000, until_ms=end_s * 1000 + 60_000, where=e.scope.where, limit=SAMPLES
        )
    before = e.baseline_refusals / e.baseline_requests
    after = e.result.after_refusals / e.result.after_requests if e.result.after_requests else 0.0
    ratio = after / before if before else None
    earliest: dict[tuple[str, str, str], ModelSnapshot] = {}  # a snapshot reaches each tenant at its own time
    for s in snapshots:
        triple = (s.provider, s.model, s.system_fingerprint)
        if triple not in earliest or s.first_seen_ms < earliest[triple].first_seen_ms:
            earliest[triple] = s
    start_ms = started_at.timestamp() * 1000
    snapshot = min(earliest.values(), key=lambda s: abs(s.first_seen_ms - start_ms), default=None)
    snap = None
    if snapshot is not None:
        snap = {
            "name": snapshot.model + (f" ({snapshot.system_fingerprint})" if snapshot.system_fingerprint else ""),
            "model": snapshot.model,
            "first_seen": datetime.fromtimestamp(snapshot.first_seen_ms / 1000, UTC),
            "request_id": snapshot.first_request_id,
        }
    labels = {**e.scope.where, **({"model": snap["model"]} if snap else {})}
    context = {
        "category": e.scope.category,
        "tenant": e.scope.tenant,
        "ratio": ratio,
        "started_at": started_at,
        "snapshot": snap,
    }
    figures = [
        (f"Before ({BASELINE_DAYS}d baseline)", _rate(e.baseline_refusals, e.baseline_requests)),
        (f"After (since {started_at:%m-%d %H:%M} UTC)", _rate(e.result.after_refusals, e.result.after_requests)),
        ("Change", f"{ratio:.2f}x" if ratio else "from zero"),
        ("Evidence (CUSUM)", f"{e.result.score:.1f} (alarm at {params.threshold:g})"),
    ]
    if len(models) > 1:
        for m in sorted(models, key=lambda m: -m.totals["requests"])[:4]:
            figures.append(
                (f"Since then on {m.cohort['model']}", _rate(int(m.totals["refusals"]), int(m.totals["requests"])))
            )
    for r in samples:
        triple = f"{r.tenant} · {r.prompt_version} · {r.model}" + (
            f" · {r.system_fingerprint}" if r.system_fingerprint else ""
        )
        figures.append((f"Refused {r.request_id}", f"{triple} · {r.refusal_rule or 'client'}"))
    return Finding(
        detector=DETECTOR,
        key=alarm.key if alarm else f"{DETECTOR}:{e.scope.key}:{int(now.timestamp())}",
        status="firing",
        severity="high" if e.scope.tenant is None else "medium",
        title=str(render("refusals_shift_title.md.j2", **context)),
        summary=str(render("refusals_shift.md.j2", before=before, after=after, **context)),
        labels=labels,
        started_at=started_at,
        figures=figures,
        sample_request_ids=[r.request_id for r in samples],
        cause="provider_model_update" if snap else "refusal_rate_shift",
        memo={"scope": e.scope.key},
    )


def resolved(alarm: DetectorAlarm, last: Finding, now: datetime) -> Finding:
    """The rate is back near its baseline: the same key, resolved, so the card closes itself."""
    text = render("refusals_resolved.md.j2", labels=last.labels, started_at=alarm.started_at, now=now)
    return last.with_(
        status="resolved", severity="info", title=str(text), summary=str(text), figures=[], sample_request_ids=[]
    )


def _rate(refusals: int, requests: int) -> str:
    lo, hi = wilson(refusals, requests)
    return f"{pct(refusals / requests if requests else 0.0)} (95% CI {pct(lo)}-{pct(hi)}) of {requests:,}"
