"""The model_change job: records every (provider, model, system_fingerprint) each cohort is served.

It reads requests stored since its last position (kept in a table: it resumes after a restart, on any
replica) rather than working in the ingest hot path. Requests received in the last SCAN_LAG are left for
the next run, so a slow concurrent ingest transaction cannot commit a lower id behind the position.
A snapshot no cohort had been served before posts an info card to the ops channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import HEADER_TEXT, SECTION_TEXT, truncate_text
from bot.cards.text import render
from bot.runbooks import default_runbook_dir, load_runbooks, match_runbook, render_steps
from bot.services import Services
from bot.slack.post import post_card
from storage import refusals as store
from storage.refusals import ScannedRequest

DETECTOR = "model_change"
SCAN_NAME = "model_snapshots"
SCAN_LAG = timedelta(seconds=60)
BATCH = 20_000
MAX_BATCHES = 50
ANNOUNCE_WITHIN = timedelta(hours=24)
"""Snapshots first seen longer ago than this (history replayed on a first run, late backfills) are recorded quietly."""

Triple = tuple[str, str, str]


@dataclass
class NewSnapshot:
    """A snapshot never served to any cohort before this scan, with what the info card says about it."""

    provider: str
    model: str
    system_fingerprint: str
    first_seen_ms: int
    first_request_id: str
    cohorts: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    mismatched: int = 0
    requested: set[str] = field(default_factory=set)
    share: float = 0.0
    announced: bool = False

    @property
    def triple(self) -> Triple:
        """(provider, model, system_fingerprint): what identifies a snapshot."""
        return (self.provider, self.model, self.system_fingerprint)


def scan(services: Services, now: datetime, *, lag: timedelta = SCAN_LAG) -> list[NewSnapshot]:
    """Record the snapshots served since the last scan; returns those new to every cohort (announced or not).

    ``lag=timedelta(0)`` is only right when no ingest can be in flight (the demo, after its last batch returned).
    """
    cutoff_ms = int((now - lag).timestamp() * 1000)
    found: list[NewSnapshot] = []
    with services.db.session() as session:
        bootstrap = store.get_scan_position(session=session, name=SCAN_NAME) is None
    for _ in range(MAX_BATCHES):
        with services.db.write_session() as session:
            position = store.get_scan_position(session=session, name=SCAN_NAME) or 0
            rows = store.list_requests_after(session=session, after_id=position, limit=BATCH)
            ready = _committed_prefix(rows, cutoff_ms)
            if not ready:
                break
            new = _record(session, ready)
            for snap in new:
                snap.announced = not bootstrap and snap.first_seen_ms >= (now - ANNOUNCE_WITHIN).timestamp() * 1000
                if snap.announced:
                    _announce(services, session, snap, now)
            store.set_scan_position(session=session, name=SCAN_NAME, last_id=ready[-1].id, now=now)
        found += new
        if len(ready) < len(rows) or len(rows) < BATCH:
            break
    if any(s.announced for s in found):
        services.wake_outbox.set()
    return found


def _committed_prefix(rows: list[ScannedRequest], cutoff_ms: int) -> list[ScannedRequest]:
    for i, row in enumerate(rows):
        if row.received_ms >= cutoff_ms:
            return rows[:i]
    return rows


def _record(session: Session, rows: list[ScannedRequest]) -> list[NewSnapshot]:
    groups: dict[tuple[str, str, str, str, str], dict] = {}
    for r in rows:
        key = (r.tenant, r.category, r.provider, r.model, r.system_fingerprint)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"first": r, "last_ms": r.ts_ms, "requests": 0, "mismatched": 0, "requested": set()}
        if r.ts_ms < g["first"].ts_ms:
            g["first"] = r
        g["last_ms"] = max(g["last_ms"], r.ts_ms)
        g["requests"] += 1
        if r.model_requested and r.model_requested != r.model:
            g["mismatched"] += 1
            g["requested"].add(r.model_requested)
    triples = sorted({k[2:] for k in groups})
    known = store.list_known_triples(session=session, triples=triples)
    new: dict[Triple, NewSnapshot] = {}
    for key, g in sorted(groups.items()):
        first: ScannedRequest = g["first"]
        store.record_snapshot(
            session=session,
            values={
                "tenant": key[0], "category": key[1], "provider": key[2], "model": key[3],
                "system_fingerprint": key[4], "first_seen_ms": first.ts_ms, "last_seen_ms": g["last_ms"],
                "first_request_id": first.request_id, "requests": g["requests"], "mismatched": g["mismatched"],
            },
        )  # fmt: skip
        triple: Triple = key[2:]  # type: ignore[assignment]
        if triple in known:
            continue
        snap = new.get(triple)
        if snap is None:
            snap = new[triple] = NewSnapshot(*triple, first_seen_ms=first.ts_ms, first_request_id=first.request_id)
        elif first.ts_ms < snap.first_seen_ms:
            snap.first_seen_ms, snap.first_request_id = first.ts_ms, first.request_id
        snap.cohorts.append((key[0], key[1]))
        snap.requests += g["requests"]
        snap.mismatched += g["mismatched"]
        snap.requested |= g["requested"]
    for snap in new.values():
        cohorts = set(snap.cohorts)
        since = [r for r in rows if r.ts_ms >= snap.first_seen_ms and (r.tenant, r.category) in cohorts]
        served = sum(1 for r in since if (r.provider, r.model, r.system_fingerprint) == snap.triple)
        snap.share = served / len(since) if since else 0.0
    return list(new.values())


def card_for(snap: NewSnapshot) -> Card:
    """The info card for a new snapshot: first seen at ..., serving N% of traffic, what to do next."""
    first_seen = datetime.fromtimestamp(snap.first_seen_ms / 1000, UTC)
    labels = {"detector": DETECTOR, "model": snap.model}
    if len({c for _, c in snap.cohorts}) == 1:
        labels["category"] = snap.cohorts[0][1]
    steps = render_steps(match_runbook(load_runbooks(default_runbook_dir()), labels), labels, limit=3)
    text = render(
        "refusals_model_change.md.j2",
        snap=snap,
        first_seen=first_seen,
        cohorts=[f"{t}/{c or '-'}" for t, c in snap.cohorts[:12]],
        more_cohorts=max(0, len(snap.cohorts) - 12),
        requested=sorted(snap.requested)[:5],
        steps=steps,
    )
    name = " ".join(p for p in (snap.provider, snap.model, snap.system_fingerprint) if p)
    return Card(
        text=truncate_text(f"New model snapshot {name}, first seen {first_seen:%Y-%m-%d %H:%M} UTC", 300),
        blocks=[
            b.header(truncate_text(f"New model snapshot: {snap.model}", HEADER_TEXT)),
            b.section(truncate_text(text, SECTION_TEXT)),
        ],
    )


def _announce(services: Services, session: Session, snap: NewSnapshot, now: datetime) -> None:
    channels = services.settings.file.channels
    key = f"model_snapshot:{snap.provider}:{snap.model}:{snap.system_fingerprint}"[:255]
    post_card(
        session=session,
        channel=channels.ops or channels.default or services.settings.default_channel,
        card=card_for(snap),
        now=now,
        card_key=key,
    )
