"""The triage card, the storm digest, the page DM and the runbook modal, built from an alert row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson

from bot.alerts.model import SEVERITIES
from bot.alerts.routing import mention
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import HEADER_TEXT, SECTION_FIELD_TEXT, SECTION_TEXT, truncate_text
from bot.cards.text import Mrkdwn, render, slack_escape
from bot.runbooks import (
    Runbook,
    kill_switch_scope,
    match_runbook,
    render_section,
    render_steps,
    shipped_runbooks,
)
from storage.alerts_models import Alert, AlertDigest

ICONS = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:"}
ICONS |= {"low": ":large_blue_circle:", "info": ":white_circle:"}
KEY_LABELS = ("alertname", "tenant", "detector", "cause", "service", "intent", "model", "prompt_version", "path")
SILENCE_CHOICES = (("Silence 1 h", "1h"), ("Silence 4 h", "4h"), ("Silence 24 h", "24h"))
FLAP_WINDOW = timedelta(hours=1)


def runbook_for(labels: dict[str, str]) -> Runbook | None:
    """The runbook whose matchers fit the labels best; None only when no runbook (not even generic) loads."""
    try:
        return match_runbook(list(shipped_runbooks()), labels)
    except LookupError:
        return None


def labels_of(alert: Alert) -> dict[str, str]:
    """An alert row's labels as a dict (stored as JSON text)."""
    return orjson.loads(alert.labels)


def evidence_of(alert: Alert) -> dict[str, Any] | None:
    """What afterlaunch measured for its own alerts, or None for alerts from other sources."""
    return orjson.loads(alert.evidence) if alert.evidence else None


def recent_flips(alert: Alert, now: datetime) -> list[datetime]:
    """State changes within the flapping window, newest last."""
    return [t for t in (datetime.fromisoformat(x) for x in orjson.loads(alert.flips)) if t >= now - FLAP_WINDOW]


def _section(text: str, **kwargs: Any) -> dict[str, Any]:
    return b.section(truncate_text(text, SECTION_TEXT), **kwargs)


def _header(alert: Alert) -> dict[str, Any]:
    state = {"resolved": "[RESOLVED] "}.get(alert.status, "[ACK] " if alert.acked_at else "")
    return b.header(truncate_text(f"{state}[{alert.severity.upper()}] {alert.title}", HEADER_TEXT))


def _status_text(alert: Alert, now: datetime) -> str:
    annotations = orjson.loads(alert.annotations)
    labels = labels_of(alert)
    what = annotations.get("description") or annotations.get("summary") or annotations.get("message") or ""
    where = ", ".join(f"{k}={labels[k]}" for k in KEY_LABELS if labels.get(k))
    end = alert.ends_at or alert.resolved_at or now
    return render(
        "alert_card.md.j2",
        status=alert.status,
        source=alert.source,
        resolved_by=alert.resolved_by,
        resolved_at=alert.resolved_at or end,
        lasted=max(end - alert.starts_at, timedelta(0)),
        acked_by=alert.acked_by,
        acked_at=alert.acked_at,
        starts_at=alert.starts_at,
        what=what,
        where=where,
        deliveries=alert.deliveries,
        last_seen=alert.last_seen,
        flapping=alert.flapping,
        flips=len(recent_flips(alert, now)),
        silenced_until=alert.silenced_until if alert.silenced_until and alert.silenced_until > now else None,
        silenced_by=alert.silenced_by or "",
        paged=Mrkdwn(mention(alert.paged_user)) if alert.paged_user else None,
        escalated=Mrkdwn(mention(alert.escalated_to)) if alert.escalated_to else None,
        now=now,
    )


def _label_fields(labels: dict[str, str]) -> dict[str, Any] | None:
    shown = [k for k in KEY_LABELS if labels.get(k)] + sorted(k for k in labels if k not in KEY_LABELS)
    pairs = [(slack_escape(k[:100]), truncate_text(slack_escape(labels[k]), 400)) for k in shown[:10]]
    if not pairs:
        return None
    return b.section(fields=[truncate_text(f"*{k}*\n{v}", SECTION_FIELD_TEXT) for k, v in pairs])


def _links(alert: Alert) -> dict[str, Any] | None:
    found = [
        f"<{slack_escape(url.replace('|', '%7C'))}|{name}>"
        for name, url in (
            ("Source", alert.generator_url),
            ("Dashboard", alert.dashboard_url),
            ("Silence at source", alert.silence_url),
        )
        if url and url.startswith(("https://", "http://")) and len(url) < 2900
    ]
    return b.context(" · ".join(found)) if found else None


def _buttons(alert: Alert, runbook: Runbook | None, labels: dict[str, str]) -> dict[str, Any]:
    ref = str(alert.id)
    elements: list[dict[str, Any]] = []
    if alert.status == "firing":
        if alert.acked_at is None:
            elements.append(b.button("Acknowledge", "alert_ack", value=ref, style="primary"))
        elements.append(b.button("Resolve", "alert_resolve", value=ref))
        elements.append(
            b.static_select("alert_silence", [(t, f"{ref}:{v}") for t, v in SILENCE_CHOICES], placeholder="Silence…")
        )
    elements.append(b.button("Runbook", "alert_runbook", value=ref))
    evidence = evidence_of(alert)
    if evidence and evidence.get("sample_request_ids"):
        elements.append(b.button("Show requests", "alert_requests", value=ref))
    scope = kill_switch_scope(runbook, labels) if runbook is not None and alert.status == "firing" else None
    if runbook is not None and runbook.kill_switch is not None and scope is not None:
        value = orjson.dumps({"flag": runbook.kill_switch.flag, "scope": scope, "card_key": alert.card_key}).decode()
        if len(value) <= 2000:
            label = f"Kill switch: {runbook.kill_switch.flag}"
            elements.append(b.button(truncate_text(label, 75), "killswitch_open", value=value, style="danger"))
    return b.actions(*elements, block_id=f"alert:{alert.id}")


def triage_card(alert: Alert, now: datetime) -> Card:
    """The living card of one alert group: state, what/where/since, labels, links, runbook steps, buttons."""
    labels = labels_of(alert)
    runbook = runbook_for(labels)
    blocks = [_header(alert), _section(_status_text(alert, now))]
    fields = _label_fields(labels)
    if fields:
        blocks.append(fields)
    members = orjson.loads(alert.members)
    if members:
        blocks.append(_section(render("alert_members.md.j2", members=members)))
    evidence = evidence_of(alert)
    if evidence:
        figures = [tuple(f) for f in evidence.get("figures", [])]
        text = render(
            "alert_evidence.md.j2",
            summary=evidence.get("summary", ""),
            figures=figures,
            cohort=evidence.get("cohort", {}),
            samples=evidence.get("sample_request_ids", []),
        )
        blocks.append(_section(text))
    links = _links(alert)
    if links:
        blocks.append(links)
    if runbook is not None:
        steps = [Mrkdwn(s) for s in render_steps(runbook, labels, limit=3)]
        more = max(0, len(runbook.steps) - len(steps))
        blocks += [b.divider(), _section(render("alert_runbook.md.j2", title=runbook.title, steps=steps, more=more))]
    blocks.append(_buttons(alert, runbook, labels))
    blocks.append(b.context(f"{slack_escape(alert.source)} · {slack_escape(alert.fingerprint[:120])}"))
    fallback = f"[{alert.severity}] {alert.title} ({alert.status})"
    return Card(text=truncate_text(slack_escape(fallback), 300), blocks=blocks)


def digest_card(digest: AlertDigest, alerts: list[Alert], now: datetime, paged: str | None) -> Card:
    """One card for a storm: counts per kind of alert, so nothing is lost and the channel is not flooded."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for a in alerts:
        key = (a.title, a.severity)
        g = groups.setdefault(key, {"title": a.title, "severity": a.severity, "firing": 0, "resolved": 0})
        g[a.status] += 1
    ordered = sorted(groups.values(), key=lambda g: (SEVERITIES.index(g["severity"]), -g["firing"], g["title"]))
    text = render(
        "alert_digest.md.j2",
        total=len(alerts),
        channel=digest.channel,
        opened_at=digest.opened_at,
        firing=sum(a.status == "firing" for a in alerts),
        resolved=sum(a.status == "resolved" for a in alerts),
        groups=ordered,
        paged=Mrkdwn(mention(paged)) if paged else None,
    )
    blocks = [
        b.header(f"Alert storm: {len(alerts)} alerts"),
        _section(text),
        b.context("Open alerts are listed in the App Home; each alert still resolves and dedupes on its own."),
    ]
    return Card(text=slack_escape(f"Alert storm in {digest.channel}: {len(alerts)} alerts"), blocks=blocks)


def page_card(alert: Alert, reason: str | None = None) -> Card:
    """The DM that pages the on-call person."""
    text = render(
        "alert_page.md.j2",
        severity=alert.severity,
        title=alert.title,
        channel=alert.channel,
        starts_at=alert.starts_at,
        reason=reason,
    )
    return Card(text=truncate_text(slack_escape(f"Paged: {alert.title}"), 300), blocks=[_section(text)])


def timeline_text(when: datetime, who: str | None, what: str) -> str:
    """One line of a card's thread: when, who, what."""
    return render("alert_timeline.md.j2", when=when, who=who, what=what)


def runbook_modal(alert: Alert) -> dict[str, Any]:
    """The full runbook for an alert, with its labels filled in."""
    labels = labels_of(alert)
    runbook = runbook_for(labels)
    if runbook is None:
        return b.modal("Runbook", [b.section("No runbook matches this alert.")], callback_id="alert_runbook_view")
    blocks = [b.header(truncate_text(runbook.title, HEADER_TEXT)), _section(slack_escape(runbook.summary))]
    steps = render_steps(runbook, labels)
    for start in range(0, len(steps), 5):
        chunk = "\n".join(f"{n}. {s}" for n, s in enumerate(steps[start : start + 5], start=start + 1))
        blocks.append(_section(chunk))
    for name in ("Evidence to collect", "Roll back / mitigate", "Resolve when"):
        text = render_section(runbook, name, labels)
        if text:
            blocks.append(_section(f"*{name}*\n{text}"))
    blocks.append(b.context(f"runbooks/{slack_escape(runbook.path.name)}"))
    return b.modal("Runbook", blocks[:100], callback_id="alert_runbook_view", close="Close")


def requests_card(alert: Alert) -> Card:
    """The ephemeral list of sample requests, each with the /triage command that opens it."""
    evidence = evidence_of(alert) or {}
    text = render("alert_requests.md.j2", samples=evidence.get("sample_request_ids", []))
    return Card(text="Sample requests", blocks=[_section(text)])


def home_line_icon(severity: str) -> str:
    """The severity's coloured dot, so the Home list scans at a glance."""
    return ICONS.get(severity, ":white_circle:")
