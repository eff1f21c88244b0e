"""Running a drill: inject, evaluate as the scheduler would, score the card, clean up.

Detectors run in dry runs (the real alarm table is never touched, so a drill cannot open,
update or resolve a real alarm); the drill's own findings, those about its tenants, are
delivered through the alert pipeline with "Drill:" in the title and their own fingerprint,
then resolved. A suggested kill switch is never flipped: the flip is only reported.
"""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.detectors import Finding, all_detectors, run_detectors
from bot.drill import readiness, steps, upcoming
from bot.drill.cleanup import drill_tenant, remove_drill_rows
from bot.services import Services
from storage import keys as key_store

INCIDENTS = ("cost", "screenshot", "evals", "leak", "latency", "refusals")
DETECTORS = {
    "cost": "cost_burn",
    "screenshot": "triage",
    "evals": "eval_divergence",
    "leak": "tenant_leak",
    "latency": "latency",
    "refusals": "refusal_shift",
}
CHECKPOINTS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 360)
"""Minutes after onset at which the detector is evaluated, as the scheduler would have."""


@dataclass
class StepResult:
    """One incident's score, in the shape ``drill --json`` prints."""

    incident: str
    fired: bool = False
    injected_cause: str = ""
    card_cause: str = ""
    runbook: str = ""
    onset_to_card_s: float | None = None
    paged: list[str] = field(default_factory=list)
    escalated: bool = False
    suggested_flag: str | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ours(finding: Finding, tenant: str, category: str) -> bool:
    """A finding about the drill: its cohort names a drill tenant, or an intent or category named after one."""
    return any(str(v).startswith(tenant) for v in finding.cohort.values())


def _detect(services: Services, inj: steps.Injected, now: datetime) -> tuple[Finding | None, datetime | None]:
    """The first checkpoint after onset at which the detector fires on the drill tenant (dry runs only)."""
    if inj.detector == "refusal_shift":
        from bot.refusals import models_seen

        # Received times are the wall clock's: every drill batch has returned, so nothing is in flight.
        models_seen.scan(services, datetime.now(UTC), lag=timedelta(0))
    checkpoints = [0] if inj.extra.get("wall_clock") else CHECKPOINTS
    if inj.extra.get("wall_clock"):  # scanned at ingest: evaluate at the wall clock, after the POST returned
        now = datetime.now(UTC)
    for minutes in checkpoints:
        at = inj.onset + timedelta(minutes=minutes) if minutes else now
        if at > now:
            at = now
        found = [
            f
            for f in run_detectors(services, at, only=[inj.detector], dry_run=True, include_drills=True)
            if _ours(f, inj.tenant, inj.category)
        ]
        if found:
            return max(found, key=lambda f: f.severity == "critical"), at
        if at >= now:
            break
    return None, None


def _deliver(services: Services, finding: Finding, run_id: str, at: datetime, result: StepResult) -> None:
    """Post the drill's own card (title starts with "Drill:"), note who was paged, then resolve it."""
    from bot.alerts.routing import primary_oncall, secondary_oncall
    from bot.alerts.service import receive

    card = finding.with_(title=f"Drill: {finding.title}"[:150], incident=f"drill-{run_id}-{finding.incident}")
    receive(services, [card.to_alert()], at)
    who = primary_oncall(services.settings, at)
    if card.severity in ("critical", "high"):
        if who is None:
            result.problems.append("nobody was paged: no on-call user ([oncall] users)")
        else:
            result.paged = [who]
            # Escalation is simulated: the drill card is not acknowledged, so the secondary would be paged.
            result.escalated = secondary_oncall(services.settings, at) is not None
            if not result.escalated:
                result.problems.append("no escalation: no secondary on call")
    receive(services, [card.with_(status="resolved", title=f"Drill resolved: {finding.title}"[:150]).to_alert()], at)


def _simulate_flip(services: Services, suggested: str, run_id: str, now: datetime) -> None:
    """Audit the kill the drill card suggested as simulated: no rule is written, no switch changes."""
    import json

    from storage.flags_models import FlagAudit

    flag, *pairs = suggested.split()
    scope = dict(p.split("=", 1) for p in pairs if "=" in p)
    row = FlagAudit(
        at=now,
        flag_key=flag[:100],
        action="kill",
        outcome="simulated",
        actor="afterlaunch",
        scope=json.dumps(scope, sort_keys=True),
        reason=f"drill {run_id}: the drill card suggested this kill; simulated, never applied",
        source="drill",
    )
    with services.db.write_session() as session:
        session.add(row)


def _config_problems(services: Services, inj: steps.Injected, finding: Finding, now: datetime) -> list[str]:
    """What the configuration lacks for this incident: the readiness gaps that make this step fail."""
    problems = []
    if inj.incident == "cost":
        problems += [g.message for g in readiness.budget_gaps(services, now)]
    if finding.suggested_flag:
        flag = finding.suggested_flag.split()[0]
        owners = {f.key: f.owner for f in services.settings.file.flags}
        if not owners.get(flag):
            problems.append(f"kill switch {flag} has no owner (the flip would be simulated, never real)")
    problems += [
        g.message
        for g in readiness.runbook_gaps()
        if g.level == "critical" and g.message.startswith(f"{finding.runbook}.md")
    ]
    return problems


def _screenshot(services: Services, inj: steps.Injected, now: datetime, result: StepResult) -> None:
    from bot.triage.pipeline import triage_image
    from bot.triage.screenshot import render_chat

    index = services.db.text_index
    if index is not None:  # SQLite: index what the service has not indexed yet (indexers take turns)
        while index.index_batch():
            pass
    image = render_chat(None, inj.sample_answer, style="dark", title="Help Assistant", timestamp=None)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    started = time.perf_counter()
    outcome = triage_image(services, buf.getvalue(), tenants={inj.tenant}, now=now)
    best = outcome.best
    found = best.request.request_id if best is not None else None
    result.fired = found == inj.sample_request_id
    result.onset_to_card_s = round(time.perf_counter() - started, 2)
    result.card_cause = "screenshot_match" if result.fired else ""
    result.runbook = "screenshot-report"
    if not result.fired:
        result.problems.append(
            f"/triage on the screenshot found {found or 'nothing'} ({outcome.kind}), not {inj.sample_request_id}"
        )


def _inject(services: Services, client: httpx.Client, incident: str, tenant: str, now: datetime) -> steps.Injected:
    if incident == "latency":
        fallbacks = list(getattr(readiness.section(services, "latency"), "fallback_paths", None) or [])
        return upcoming.latency(client, tenant, now, fallbacks[0] if fallbacks else None)
    if incident == "leak":
        return upcoming.leak(services, client, tenant, now)
    inject = {
        "cost": steps.cost,
        "screenshot": steps.screenshot,
        "refusals": steps.refusals,
        "evals": upcoming.evals,
    }[incident]
    return inject(client, tenant, now)


def run_step(services: Services, client: httpx.Client, incident: str, run_id: str, now: datetime) -> StepResult:
    result = StepResult(incident)
    tenant = drill_tenant(run_id, incident)
    if incident == "refusals":
        from bot.refusals import models_seen

        # What served traffic so far is known before the drill's first request, as the scan job keeps it.
        models_seen.scan(services, datetime.now(UTC), lag=timedelta(0))
    detector = DETECTORS[incident]
    if detector != "triage" and detector not in all_detectors():
        result.problems.append(f"detector {detector} is not installed")
        return result
    inj = _inject(services, client, incident, tenant, now)
    result.injected_cause = inj.cause
    if inj.extra.get("problem"):
        result.problems.append(inj.extra["problem"])
        return result
    if incident == "screenshot":
        _screenshot(services, inj, now, result)
        return result
    finding, at = _detect(services, inj, now)
    if finding is None or at is None:
        result.problems.append(f"{inj.detector} did not fire on {tenant} by {now:%H:%M} UTC")
        return result
    result.fired = True
    result.card_cause, result.runbook, result.suggested_flag = finding.cause, finding.runbook, finding.suggested_flag
    result.onset_to_card_s = (at - inj.onset).total_seconds()
    if finding.cause != inj.cause:
        result.problems.append(f"card says cause {finding.cause or '-'}, drill injected {inj.cause}")
    if finding.runbook != inj.runbook:
        result.problems.append(f"card names runbook {finding.runbook or '-'}, expected {inj.runbook}")
    _deliver(services, finding, run_id, at, result)
    if finding.suggested_flag:
        _simulate_flip(services, finding.suggested_flag, run_id, now)
    result.problems += _config_problems(services, inj, finding, now)
    return result


def run_drill(
    services: Services, url: str, incidents: list[str], now: datetime, cause: str | None = None
) -> list[StepResult]:
    """Run the chosen incidents against the service at ``url``; the drill's rows are removed even on failure."""
    run_id = uuid.uuid4().hex[:8]
    with services.db.write_session() as session:
        _, raw = key_store.create_key(
            session=session, name=f"{readiness.DRILL_PREFIX}{run_id}", tenant=None, scopes={"ingest", "read"}, now=now
        )
    results = []
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {raw}"}, timeout=120) as client:
            for incident in incidents:
                try:
                    result = run_step(services, client, incident, run_id, now)
                except httpx.HTTPError as exc:
                    result = StepResult(incident, problems=[f"could not reach afterlaunch at {url}: {exc}"])
                except RuntimeError as exc:  # the service refused what the drill sent: say what it answered
                    result = StepResult(incident, problems=[str(exc)])
                if cause and result.fired and result.card_cause != cause:
                    result.problems.append(f"asked for cause {cause}, the card says {result.card_cause}")
                results.append(result)
    finally:
        remove_drill_rows(services, run_id)
    from bot.drill import scorecard

    scorecard.record(services, run_id, results, now)
    return results
