"""Reconciliation with finance: the providers' billed cost against afterlaunch's computed cost, per day and model."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlmodel import Session

from bot.cards.text import pct, usd
from bot.cost.providers import ProviderError, default_range, fetch_anthropic, fetch_openai, model_family
from bot.detectors import Finding
from bot.services import Services
from storage import cost as store
from storage.alarms import DetectorAlarm

log = logging.getLogger(__name__)

DETECTOR = "finance_gap"
MIN_GAP_USD = 0.10
"""Below ten cents a day a percentage gap is rounding, not a finance problem."""


@dataclass(frozen=True)
class Gap:
    """One day and model: afterlaunch's cost, the provider's, and how far apart they are."""

    day: str
    model: str
    ours: float
    theirs: float

    @property
    def diff(self) -> float:
        return self.ours - self.theirs

    @property
    def ratio(self) -> float:
        base = max(self.theirs, self.ours)
        return abs(self.diff) / base if base > 0 else 0.0


def compare(*, session: Session, first_day: str, last_day: str) -> list[Gap]:
    """Per day and model family, for days the providers reported: both costs side by side."""
    theirs: dict[tuple[str, str], float] = defaultdict(float)
    days_reported: set[str] = set()
    for row in store.list_provider_costs(session=session, first_day=first_day, last_day=last_day):
        theirs[(row.day, model_family(row.model))] += row.usd
        days_reported.add(row.day)
    start = int(datetime.strptime(first_day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
    end = int(datetime.strptime(last_day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()) + 86400
    ours: dict[tuple[str, str], float] = defaultdict(float)
    for day_start, model, cost in store.list_daily_cost_by_model(session=session, start=start, end=end):
        day = datetime.fromtimestamp(day_start, UTC).strftime("%Y-%m-%d")
        if day in days_reported:
            ours[(day, model_family(model))] += cost
    keys = sorted(set(theirs) | set(ours))
    return [
        Gap(day, model, round(ours.get((day, model), 0.0), 6), round(theirs.get((day, model), 0.0), 6))
        for day, model in keys
    ]


def admin_key(value: SecretStr | None, env: str) -> SecretStr | None:
    if value is not None:
        return value
    raw = os.environ.get(env)
    return SecretStr(raw) if raw else None


def import_configured(services: Services, now: datetime, *, days: int = 7) -> dict[str, int]:
    """Fetch each provider whose admin key is configured; a failing provider is logged and skipped."""
    cfg = services.settings.file.cost
    start, end = default_range(now, days)
    counts: dict[str, int] = {}
    for provider, key, fetch, base in (
        ("openai", admin_key(cfg.openai_admin_key, "OPENAI_ADMIN_KEY"), fetch_openai, cfg.openai_base_url),
        (
            "anthropic",
            admin_key(cfg.anthropic_admin_key, "ANTHROPIC_ADMIN_KEY"),
            fetch_anthropic,
            cfg.anthropic_base_url,
        ),
    ):
        if key is None:
            continue
        try:
            rows = fetch(base_url=base, admin_key=key, start=start, end=end)
        except ProviderError as exc:
            log.warning("cost import skipped: %s", exc)
            continue
        with services.db.write_session() as session:
            counts[provider] = store.upsert_provider_costs(session=session, rows=rows, now=now)
    return counts


def detect_finance_gap(services: Services, now: datetime) -> list[Finding]:
    """A finding per model whose daily gap over the last 7 days exceeds the threshold; the kernel resolves it."""
    threshold = services.settings.file.cost.finance_gap
    last = (now.astimezone(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    first = (now.astimezone(UTC) - timedelta(days=7)).strftime("%Y-%m-%d")
    with services.db.session() as session:
        gaps = compare(session=session, first_day=first, last_day=last)
    worst: dict[str, list[Gap]] = defaultdict(list)
    for g in gaps:
        if g.ratio > threshold and abs(g.diff) >= MIN_GAP_USD:
            worst[g.model].append(g)
    findings: list[Finding] = []
    for model, items in sorted(worst.items()):
        ours, theirs = sum(g.ours for g in items), sum(g.theirs for g in items)
        findings.append(
            Finding(
                detector=DETECTOR,
                key=f"{DETECTOR}:{model}",
                status="firing",
                severity="medium",
                title=_gap_title(model, ours, theirs, len(items)),
                summary=(
                    f"afterlaunch computed {usd(ours)} for {model} where the provider billed {usd(theirs)} "
                    f"on {len(items)} day(s) with a gap above {pct(threshold)}."
                ),
                labels={"detector": DETECTOR, "model": model},
                started_at=now,
                figures=[(g.day, f"ours {usd(g.ours)}, provider {usd(g.theirs)} ({pct(g.ratio)})") for g in items[:8]],
                cause="cost_undercounted" if ours < theirs else "cost_overcounted",
                runbook="finance-gap",
            )
        )
    return findings


def resolved_gap(alarm: DetectorAlarm, last: Finding, now: datetime) -> Finding:
    """The gap closed: the same key, resolved."""
    return last.with_(
        status="resolved",
        title=f"Finance gap closed: {alarm.key.removeprefix(DETECTOR + ':')}"[:150],
        summary="afterlaunch's cost and the provider's agree again within the threshold.",
        figures=[],
        memo={},
    )


def _gap_title(model: str, ours: float, theirs: float, days: int) -> str:
    share = abs(ours - theirs) / max(ours, theirs, 1e-9)
    return f"Finance gap on {model}: {pct(share)} over {days} day(s)"[:150]
