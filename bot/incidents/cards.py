"""Incident cards: the pinned card, updates, reminders, and the resolved card with its archive question."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.limits import SECTION_TEXT, truncate_text
from bot.cards.text import Mrkdwn, render_string
from storage.alerts_models import Alert
from storage.incidents_models import Incident

TEMPLATES = Path(__file__).parent / "templates"
ROLES = ("commander", "communications")


@cache
def _source(name: str) -> str:
    return (TEMPLATES / name).read_text()


def text(name: str, **context: Any) -> Mrkdwn:
    """Render one of this capability's Slack templates (escaped like every card text)."""
    return render_string(_source(name), **context)


def role_picker(incident: Incident, role: str) -> dict[str, Any]:
    """A users_select that assigns a role when someone picks a person."""
    return {
        "type": "users_select",
        "action_id": f"incident_role_{role}",
        "placeholder": b.plain(f"Assign {role}"),
    }


def incident_card(incident: Incident, alerts: list[Alert]) -> Card:
    """The card pinned in the incident channel; it is updated in place as the incident changes."""
    body = text("incident_card.md.j2", incident=incident, alerts=alerts)
    blocks = [
        b.header(f"Incident {incident.id}: {incident.title}"[:150]),
        b.section(truncate_text(body, SECTION_TEXT)),
    ]
    ref = str(incident.id)
    if incident.status == "open":
        blocks.append(
            b.actions(
                role_picker(incident, "commander"),
                role_picker(incident, "communications"),
                block_id=f"incident_roles:{ref}",
            )
        )
        blocks.append(
            b.actions(
                b.button("Export postmortem", "incident_export", value=ref),
                b.button("Resolve", "incident_resolve", value=ref, style="primary"),
            )
        )
    else:
        blocks.append(b.actions(b.button("Export postmortem", "incident_export", value=ref)))
    return Card(text=f"{incident.severity.upper()} incident {incident.id}: {incident.title}", blocks=blocks)


def runbook_card(incident: Incident, runbook_text: str) -> Card:
    """The runbook of the card the incident came from, pinned beside it."""
    return Card(
        text=f"Runbook: {incident.runbook}",
        blocks=[b.header(f"Runbook: {incident.runbook}"[:150]), b.section(truncate_text(runbook_text, SECTION_TEXT))],
    )


def line(message: str) -> Card:
    """A one-line message (timeline echoes, role changes)."""
    return Card(text=message, blocks=[b.section(truncate_text(message, SECTION_TEXT))])


def update_card(incident: Incident, who: str, update: str) -> Card:
    """A status update, in the incident channel and in the stakeholders' channel."""
    return line(text("incident_update.md.j2", incident=incident, who=who, text=update))


def reminder_card(incident: Incident, minutes: int, every: int) -> Card:
    """The commander's nudge when an update is overdue."""
    return line(text("incident_reminder.md.j2", incident=incident, minutes=minutes, every=every))


def resolved_card(incident: Incident, who: str) -> Card:
    """Resolution; the channel stays until someone chooses to archive it."""
    message = f":white_check_mark: Incident {incident.id} resolved by <@{who}>. The channel stays open."
    confirm = b.confirm_dialog(
        "Archive this channel?", "It leaves everyone's sidebar; its history stays.", confirm="Archive", deny="Keep it"
    )
    archive = b.button("Archive channel…", "incident_archive", value=str(incident.id), confirm=confirm)
    return Card(text=message, blocks=[b.section(message), b.actions(archive)])
