"""``/alerts``: the open cards grouped by incident, with Ack buttons; and MTTA/MTTR per severity and source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bot.alerts.model import SEVERITIES
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import SECTION_TEXT, truncate_text
from bot.cards.text import ago, slack_escape
from bot.errors import UserError
from bot.services import Services
from storage import incidents as store
from storage.alerts_models import Alert
from storage.models import SlackCard

SCOPES = ("open", "mine", "all")
SHOWN = 15
ALL_LOOKBACK = timedelta(hours=24)
ICONS = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:"}


@dataclass(frozen=True)
class AlertsQuery:
    """What ``/alerts`` was asked for."""

    scope: str = "open"
    tenant: str | None = None
    severity: str | None = None


def parse(text: str) -> AlertsQuery:
    """``[open|mine|all] [tenant=…] [severity=…]``; anything else is refused with the usage."""
    scope, tenant, severity = "open", None, None
    for word in text.split():
        key, _, value = word.partition("=")
        if not _ and key.lower() in SCOPES:
            scope = key.lower()
        elif key == "tenant" and value:
            tenant = value[:128]
        elif key == "severity" and value.lower() in SEVERITIES:
            severity = value.lower()
        else:
            raise UserError(
                f"I do not understand {word[:40]!r}. Usage: /alerts [open|mine|all] [tenant=…] "
                f"[severity={'|'.join(SEVERITIES)}]"
            )
    return AlertsQuery(scope, tenant, severity)


def scoped(services: Services, query: AlertsQuery, channel: str) -> AlertsQuery:
    """A tenant's channel only ever sees that tenant's cards."""
    bound = services.settings.file.channels.tenant_channels.get(channel)
    if bound is None:
        return query
    if query.tenant not in (None, bound):
        raise UserError(f"this channel belongs to tenant {bound}; it cannot list another tenant's alerts")
    return AlertsQuery(query.scope, bound, query.severity)


def _filtered(stmt: Any, query: AlertsQuery, user: str, now: datetime) -> Any:
    if query.scope == "all":
        stmt = stmt.where(or_(Alert.status == "firing", col(Alert.last_seen) >= now - ALL_LOOKBACK))
    else:
        stmt = stmt.where(Alert.status == "firing")
    if query.scope == "mine":
        stmt = stmt.where(or_(Alert.acked_by == user, Alert.paged_user == user, Alert.escalated_to == user))
    if query.tenant:
        stmt = stmt.where(Alert.tenant == query.tenant)
    if query.severity:
        stmt = stmt.where(Alert.severity == query.severity)
    return stmt


def list_alerts(session: Session, query: AlertsQuery, user: str, now: datetime) -> tuple[list[Alert], int]:
    """The newest matching cards, and how many match in all."""
    rows = list(
        session.exec(_filtered(select(Alert), query, user, now).order_by(col(Alert.starts_at).desc()).limit(SHOWN))
    )
    total = int(session.exec(_filtered(select(func.count()).select_from(Alert), query, user, now)).one())
    return rows, total


def _link(session: Session, alert: Alert) -> str | None:
    card = session.get(SlackCard, alert.card_key)
    if card is None or not card.ts:
        return None
    return f"https://slack.com/archives/{card.channel}/p{card.ts.replace('.', '')}"


def _line(alert: Alert, link: str | None, now: datetime) -> str:
    icon = ICONS.get(alert.severity, ":white_circle:")
    title = slack_escape(truncate_text(alert.title, 150))
    title = f"<{link}|{title}>" if link else title
    who = f"acked by <@{alert.acked_by}>" if alert.acked_by else "*not acknowledged*"
    if alert.status != "firing":
        who = "resolved"
    tenant = f" · {slack_escape(alert.tenant)}" if alert.tenant else ""
    return f"{icon} {title}\n{alert.severity}{tenant} · since {ago(alert.starts_at, now)} · {who}"


def alerts_blocks(services: Services, query: AlertsQuery, user: str, now: datetime) -> tuple[list[dict[str, Any]], int]:
    """The list as blocks (the command's reply and the App Home use the same)."""
    with services.db.session() as session:
        rows, total = list_alerts(session, query, user, now)
        groups = store.incidents_of_alerts(session=session, alert_ids=[a.id for a in rows])  # type: ignore[misc]
        titles = {i: store.get_incident(session=session, incident_id=i) for i in set(groups.values())}
        links = {a.id: _link(session, a) for a in rows}
    blocks: list[dict[str, Any]] = []
    ordered = sorted(rows, key=lambda a: (groups.get(a.id) is None, groups.get(a.id) or 0))  # type: ignore[arg-type]
    current: object = object()
    for alert in ordered:
        group = groups.get(alert.id)  # type: ignore[arg-type]
        if group != current:
            current = group
            incident = titles.get(group) if group is not None else None
            label = f"Incident {group}: {incident.title}" if incident else "Not in an incident"
            blocks.append(b.context(slack_escape(truncate_text(label, 150))))
        accessory = None
        if alert.status == "firing" and alert.acked_at is None:
            accessory = b.button("Ack", "alert_ack", value=str(alert.id), style="primary")
        elif alert.status == "firing" and group is None:
            accessory = b.button("Declare incident", "incident_declare", value=str(alert.id))
        section = b.section(truncate_text(_line(alert, links[alert.id], now), SECTION_TEXT))
        if accessory is not None:
            section["accessory"] = accessory
        blocks.append(section)
    return blocks, total


def alerts_card(services: Services, query: AlertsQuery, user: str, now: datetime) -> Card:
    """The ``/alerts`` reply."""
    blocks, total = alerts_blocks(services, query, user, now)
    what = {"open": "Open alerts", "mine": "Your alerts", "all": "Alerts of the last 24 h"}[query.scope]
    filters = ", ".join(f"{k}={v}" for k, v in (("tenant", query.tenant), ("severity", query.severity)) if v)
    head = f"{what}{f' ({filters})' if filters else ''}: {total}"
    shown = (
        f"showing the newest {len(blocks and [x for x in blocks if x['type'] == 'section'])}" if total > SHOWN else ""
    )
    body = [b.header(truncate_text(head, 150)), *blocks]
    if shown:
        body.append(b.context(shown))
    if not blocks:
        body.append(b.section("Nothing matches. :tada:"))
    return Card(text=head, blocks=body[:50])


def stats_card(services: Services, now: datetime) -> Card:
    """``/alerts stats``: MTTA and MTTR over 7 and 30 days, per severity and per source."""
    from bot.incidents import cards, mtt

    body = cards.text("alerts_mtt.md.j2", data=mtt.table(services, now)).strip() or "No alerts in the last 30 days."
    return Card(text="MTTA / MTTR", blocks=[b.header("MTTA / MTTR"), b.section(truncate_text(body, SECTION_TEXT))])


def home_section(services: Services, now: datetime) -> list[dict[str, Any]]:
    """The App Home's list: the same open cards, grouped by incident."""
    blocks, total = alerts_blocks(services, AlertsQuery(), "", now)
    return [b.header(f"Open alerts: {total}"), *(blocks[:40] or [b.section("Nothing firing. :tada:")])]
