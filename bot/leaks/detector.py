"""The ``tenant_leak`` detector: the stored scan hits of the last window, one finding per cause and tenant pair."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.cards.text import render
from bot.detectors import Finding

if TYPE_CHECKING:
    from bot.services import Services
from storage import leaks as leak_store
from storage.leaks_models import LeakHit

DETECTOR = "tenant_leak"
RUNBOOK = "tenant-leak"
CAUSES = ("canary", "identifier", "foreign_document")
SUGGESTED_FLAG = "assistant"


def redact(span: str) -> str:
    """What a channel may see of a leaked string: enough to recognise it, not enough to reuse it."""
    if len(span) <= 4:
        return "•" * len(span)
    keep = 2 if len(span) < 12 else 4
    return f"{span[:keep]}{'•' * min(8, len(span) - keep)} ({len(span)} chars)"


@dataclass
class LeakGroup:
    """Every hit of one cause from one owner into one receiver within the window."""

    cause: str
    tenant: str
    source_tenant: str
    hits: list[LeakHit] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{DETECTOR}:{self.cause}:{self.source_tenant}:{self.tenant}"

    @property
    def component(self) -> str:
        """Where the leak most likely came from: the requests' path, else their prompt version."""
        paths = Counter(h.path for h in self.hits if h.path)
        if paths:
            return f"path={paths.most_common(1)[0][0]}"
        versions = Counter(h.prompt_version for h in self.hits)
        return f"prompt_version={versions.most_common(1)[0][0]}"

    @property
    def incident(self) -> str:
        """Findings from one leaking component share this key, so one component makes one card."""
        return f"{DETECTOR}:{self.component}"


def group_hits(hits: list[LeakHit]) -> list[LeakGroup]:
    groups: dict[tuple[str, str, str], LeakGroup] = {}
    for h in hits:
        k = (h.cause, h.source_tenant, h.tenant)
        groups.setdefault(k, LeakGroup(cause=h.cause, tenant=h.tenant, source_tenant=h.source_tenant)).hits.append(h)
    return sorted(groups.values(), key=lambda g: g.key)


def current_groups(services: Services, now: datetime) -> list[LeakGroup]:
    """The leak groups firing at ``now``: hits received within ``[leaks].window_hours`` before it."""
    window = timedelta(hours=services.settings.file.leaks.window_hours)
    until = int(now.timestamp() * 1000)
    since = int((now - window).timestamp() * 1000)
    with services.db.session() as session:
        hits = leak_store.list_hits(session=session, since_ms=since, until_ms=until)
    return group_hits(hits)


def describe(group: LeakGroup) -> dict[str, object]:
    """Title, summary and figures of a group's finding; spans redacted (the channel card shows these)."""
    first, last = group.hits[0], group.hits[-1]
    requests = sorted({h.request_id for h in group.hits})
    spans = sorted({redact(h.span) for h in group.hits})[:3]
    parts = sorted({h.part for h in group.hits})
    title = render(
        "leaks_title.md.j2", cause=group.cause, tenant=group.tenant, source_tenant=group.source_tenant
    ).strip()
    summary = render(
        "leaks_summary.md.j2",
        cause=group.cause,
        tenant=group.tenant,
        source_tenant=group.source_tenant,
        requests=len(requests),
        spans=spans,
        parts=parts,
        component=group.component,
        first=datetime.fromtimestamp(first.received_ms / 1000, UTC),
    ).strip()
    figures = [
        ("cause", group.cause),
        ("received by", group.tenant),
        ("belongs to", group.source_tenant),
        ("requests", str(len(requests))),
        ("where", ", ".join(parts)),
        ("matched", ", ".join(spans)),
        ("triple", f"{last.prompt_version} / {last.model} / request {last.request_id}"),
    ]
    return {"title": title, "summary": summary, "figures": figures, "requests": requests}


def detect(services: Services, now: datetime) -> list[Finding]:
    """Detector ``tenant_leak``: one critical finding per cause and (owner, receiver) pair; writes nothing.

    Findings whose hits came through the same component (the requests' path, else their
    prompt version) share an incident, so one leaking cache makes one card.
    """
    findings = []
    for group in current_groups(services, now):
        d = describe(group)
        first = group.hits[0]
        findings.append(
            Finding(
                detector=DETECTOR,
                key=group.key,
                status="firing",
                severity="critical",
                title=str(d["title"]),
                summary=str(d["summary"]),
                labels={
                    "tenant": group.tenant,
                    "source_tenant": group.source_tenant,
                    "cause": group.cause,
                    "request_id": first.request_id,
                },
                started_at=datetime.fromtimestamp(first.received_ms / 1000, UTC),
                figures=d["figures"],  # type: ignore[arg-type]
                sample_request_ids=d["requests"][:10],  # type: ignore[index]
                cause=group.cause,
                runbook=RUNBOOK,
                suggested_flag=f"{SUGGESTED_FLAG} tenant={group.tenant}",
                incident=group.incident,
            )
        )
    return findings
