"""``afterlaunch readiness``: is the configuration ready for the six incidents that follow a launch?

Each check reads only configuration and stored state, so it can run on day one, before any
incident. A capability's section may be missing from this build (latency, evals, tenants come
from other capabilities): its checks then say the capability is not installed, as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlmodel import select

from bot.detectors.kernel import DRILL_PREFIX
from bot.services import Services
from storage import rollups
from storage.flags_models import Flag
from storage.models import IngestKey

FALLBACK_WORDS = re.compile(r"fallback|backup|degraded|secondary|retry", re.IGNORECASE)
TRAFFIC_DAYS = 7


@dataclass(frozen=True)
class Gap:
    """One thing missing: ``critical`` ones fail readiness (exit 1), ``warning`` ones are advice."""

    level: Literal["critical", "warning"]
    area: str
    message: str


def section(services: Services, name: str) -> Any | None:
    """A capability's config section, or None when no installed capability declares it."""
    try:
        return getattr(services.settings.file, name)
    except AttributeError:
        return None


def oncall_gaps(services: Services) -> list[Gap]:
    cfg = section(services, "oncall")
    if cfg is None or not (cfg.users or cfg.usergroup or cfg.overrides):
        return [Gap("critical", "on-call", "no on-call user: set [oncall] users (or usergroup); nobody gets paged")]
    if cfg.secondary is None and len(cfg.users) < 2:
        return [Gap("warning", "on-call", "no secondary: set [oncall] secondary or a second user, so pages escalate")]
    return []


def tenants_with_traffic(services: Services, now: datetime) -> list[str]:
    """Real tenants (not drill ones) that sent requests in the last week."""
    end = int(now.timestamp()) // 60 * 60 + 60
    start = end - TRAFFIC_DAYS * 86400
    with services.db.session() as session:
        found = rollups.list_cohorts(session=session, start=start, end=end, group_by=["tenant"])
    return sorted(s.cohort["tenant"] for s in found if not s.cohort["tenant"].startswith(DRILL_PREFIX))


def budget_gaps(services: Services, now: datetime) -> list[Gap]:
    """Every tenant with traffic needs a budget of its own: an all-traffic budget cannot catch one tenant's loop."""
    from bot.cost.budgets import list_budgets

    with services.db.session() as session:
        budgets = list_budgets(services, session=session)
    covered = {b.cohort.get("tenant") for b in budgets}
    return [
        Gap("critical", "budgets", f"tenant {t} has traffic and no budget: /cost budget set <usd> tenant={t}")
        for t in tenants_with_traffic(services, now)
        if t not in covered
    ]


def flag_gaps(services: Services) -> list[Gap]:
    with services.db.session() as session:
        stored = session.exec(select(Flag)).all()
        keys = session.exec(select(IngestKey).where(IngestKey.revoked_at.is_(None))).all()  # type: ignore[union-attr]
    owners = {f.key for f in services.settings.file.flags if f.owner} | {f.key for f in stored if f.owner}
    gaps = []
    if not owners:
        gaps.append(
            Gap("critical", "kill switch", 'no kill-switch flag with an owner: add owner = "U…" to a [[flags]]')
        )
    if not any("flags" in k.scope_set() for k in keys):
        gaps.append(Gap("warning", "kill switch", "no key with the flags scope: no OFREP consumer reads the switches"))
    return gaps


def runbook_gaps() -> list[Gap]:
    """Runbooks that fail the checker (warning), or name a slash command this build does not register (critical).

    The checker knows every command afterlaunch may ever have; readiness asks what is installed
    here, so a runbook telling the on-call to run ``/latency`` fails when no capability answers it.
    """
    from bot.runbooks.check import _COMMAND_RE, check_runbooks, format_problem
    from bot.runbooks.loader import default_runbook_dir, runbook_files
    from bot.slack.commands import all_commands

    directory = default_runbook_dir()
    registered = {c.name for c in all_commands()}
    gaps = []
    for problem in check_runbooks(directory):
        text = format_problem(problem, root=directory)
        gaps.append(Gap("critical" if "unknown slash command" in text else "warning", "runbooks", text))
    for path in runbook_files(directory):
        named: set[str] = set()
        fenced = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            if not fenced:
                named |= {"/" + m.group(1) for m in _COMMAND_RE.finditer(line)}
        for command in sorted(named - registered):
            gaps.append(
                Gap("critical", "runbooks", f"{path.name}: names {command}, which no installed capability answers")
            )
    return gaps


def capability_gaps(services: Services, now: datetime) -> list[Gap]:
    """Latency, evals and tenant canaries: read defensively, their sections may not be installed."""
    gaps = []
    latency = section(services, "latency")
    declared = set(getattr(latency, "fallback_paths", []) or [])
    end = int(now.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        paths = rollups.list_cohorts(session=session, start=end - TRAFFIC_DAYS * 86400, end=end, group_by=["path"])
    for path in sorted(s.cohort["path"] for s in paths if s.cohort.get("path")):
        if FALLBACK_WORDS.search(path) and path not in declared:
            gaps.append(
                Gap("warning", "latency", f"path {path} looks like a fallback: add it to [latency] fallback_paths")
            )
    planted: set[str] = set()
    if section(services, "leaks") is not None:
        from storage.leaks import list_canaries

        with services.db.session() as session:
            planted = {c.tenant for c in list_canaries(session=session) if getattr(c, "revoked_at", None) is None}
    for tenant in tenants_with_traffic(services, now):
        if tenant not in planted:
            gaps.append(Gap("warning", "leaks", f"tenant {tenant} has no canary: afterlaunch canary create {tenant}"))
    gaps += _eval_gaps(services, now)
    return gaps


def _eval_gaps(services: Services, now: datetime) -> list[Gap]:
    if section(services, "evals") is None:
        return [Gap("warning", "evals", "the evals capability is not installed: no offline eval results are received")]
    from storage.evals_stats import list_offline

    until = int(now.timestamp() * 1000) + 1
    with services.db.session() as session:
        runs = list_offline(session=session, since_ms=until - 7 * 86_400_000, until_ms=until)
    if not runs:
        return [Gap("warning", "evals", "no offline eval results in the last week: POST /v1/evals/results from CI")]
    return []


def check(services: Services, now: datetime) -> list[Gap]:
    """Every gap, critical first."""
    gaps = [
        *oncall_gaps(services),
        *budget_gaps(services, now),
        *flag_gaps(services),
        *runbook_gaps(),
        *capability_gaps(services, now),
    ]
    return sorted(gaps, key=lambda g: g.level != "critical")
