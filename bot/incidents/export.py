"""The postmortem draft: summary, timeline, impact from the rollups, response times, open questions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.cards.text import duration
from bot.errors import UserError
from bot.incidents import timeline
from bot.services import Services
from storage import histogram, rollups
from storage import incidents as store
from storage.incidents_models import Incident
from storage.models import LLMRequest

FORMATS = ("md", "json")


@dataclass(frozen=True)
class Impact:
    """What the incident window cost, measured on the rollups (users on the request log, which has them)."""

    requests: int
    tenants: int
    users: int
    cost_usd: float
    errors: int
    refusals: int
    refusal_rate: float
    latency_p95_ms: float | None


def _minute(moment: datetime, *, up: bool = False) -> int:
    seconds = int(moment.timestamp())
    return -(-seconds // 60) * 60 if up else seconds // 60 * 60


def impact(session: Session, start: datetime, end: datetime, tenant: str = "") -> Impact:
    """Requests, tenants, users, spend, errors, refusals and p95 latency in [start, end) (minute-aligned)."""
    lo, hi = _minute(start), _minute(end, up=True)
    where = {"tenant": tenant} if tenant else None
    per_tenant = rollups.list_cohorts(
        session=session, start=lo, end=hi, group_by=["tenant"], where=where, with_latency=True
    )
    total = lambda name: sum(c.totals.get(name, 0) for c in per_tenant)  # noqa: E731
    requests = int(total("requests"))
    latency: Any = None
    for c in per_tenant:
        latency = histogram.merge(latency, c.latency) if latency is not None else c.latency
    users_stmt = select(func.count(func.distinct(LLMRequest.user_hash))).where(
        col(LLMRequest.ts_ms) >= lo * 1000, col(LLMRequest.ts_ms) < hi * 1000, col(LLMRequest.user_hash).is_not(None)
    )
    if tenant:
        users_stmt = users_stmt.where(LLMRequest.tenant == tenant)
    refusals = int(total("refusals"))
    return Impact(
        requests=requests,
        tenants=sum(1 for c in per_tenant if c.totals.get("requests", 0)),
        users=int(session.exec(users_stmt).one()),
        cost_usd=round(float(total("cost_usd")), 6),
        errors=int(total("errors")),
        refusals=refusals,
        refusal_rate=refusals / requests if requests else 0.0,
        latency_p95_ms=histogram.quantile(latency, 0.95) if latency else None,
    )


def _span(a: datetime | None, b: datetime | None) -> str:
    if a is None or b is None:
        return "not recorded"
    return duration(max(b - a, timedelta(0)))


def _figures(incident: Incident, entries: list[timeline.Entry], end: datetime) -> dict[str, str]:
    fired = [e.at for e in entries if e.kind == "card_fired"]
    acks = [e.at for e in entries if e.kind == "ack"]
    flips = [e.at for e in entries if e.kind == "killswitch"]
    detected = min(fired) if fired else incident.declared_at
    mitigated = incident.mitigated_at
    if flips and (mitigated is None or min(flips) < mitigated):
        mitigated = min(flips)
    return {
        "duration": _span(incident.started_at, end),
        "detect": _span(incident.started_at, detected),
        "ack": _span(detected, min(acks) if acks else None),
        "mitigate": _span(incident.started_at, mitigated),
        "resolve": _span(incident.started_at, incident.resolved_at),
    }


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["iso"] = lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
    return env


def postmortem(services: Services, incident_id: int, now: datetime, fmt: str = "md") -> str:
    """The postmortem draft as Markdown (for people) or JSON (for tools)."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    with services.db.session() as session:
        incident = store.get_incident(session=session, incident_id=incident_id)
        if incident is None:
            raise UserError(f"there is no incident {incident_id}")
        entries = timeline.build(session, incident, now)
        start, end = timeline.window(incident, now)
        found = impact(session, start, end, incident.tenant)
    figures = _figures(incident, entries, end)
    if fmt == "json":
        data = {
            "incident": incident.model_dump(mode="json"),
            "window": {"start": start.isoformat(), "end": end.isoformat()},
            "timeline": [{**asdict(e), "at": e.at.isoformat()} for e in entries],
            "impact": asdict(found),
            "response_times": figures,
            "runbook": incident.runbook,
        }
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    return (
        _env()
        .get_template("postmortem.md.j2")
        .render(incident=incident, start=start, end=end, timeline=entries, impact=found, figures=figures)
    )
