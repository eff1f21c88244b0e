"""Labelling in Slack: the verdict buttons, the category menu, the note modal and "Show full text".

Listeners ack at once and hand the click to bot/evals/labelling.py after the ack; a refusal reaches
the person as an ephemeral line through the outbox.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.access import AccessChecker
from bot.cards.blocks import Card
from bot.errors import AfterlaunchError
from bot.evals import cards, labelling
from bot.services import Services
from bot.slack.post import send_ephemeral
from bot.slack.registry import error_card

log = logging.getLogger(__name__)


def _ack(ack: Ack) -> None:
    ack()


def _clicked(body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(user, channel, reference) of a click on a labelling control."""
    action = (body.get("actions") or [{}])[0]
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    user = (body.get("user") or {}).get("id", "")
    channel = (body.get("channel") or {}).get("id", "") or (body.get("container") or {}).get("channel_id", "")
    return user, channel, cards.parse_ref(str(value))


def _tell(services: Services, channel: str, user: str, card: Card) -> None:
    with services.db.write_session() as session:
        send_ephemeral(session=session, channel=channel, user=user, card=card, now=datetime.now(UTC))
    services.wake_outbox.set()


def _safely(services: Services, name: str, user: str, channel: str, work: Callable[[], None]) -> None:
    try:
        work()
    except AfterlaunchError as exc:
        _tell(services, channel, user, error_card(exc.message))
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("evals %s failed (ref %s)", name, ref)
        _tell(services, channel, user, error_card(f"labelling failed on our side (ref {ref})"))


def register(app: App, services: Services, access: AccessChecker) -> None:
    """Buttons, menu and modal of the labelling cards."""

    def label_work(body: dict[str, Any]) -> None:
        user, channel, data = _clicked(body)
        _safely(
            services,
            "label",
            user,
            channel,
            lambda: labelling.record(
                services, access, user=user, channel=channel, item_id=int(data["item"]), label=str(data.get("label")),
                now=datetime.now(UTC),
            ),
        )  # fmt: skip

    def category_work(body: dict[str, Any]) -> None:
        user, channel, data = _clicked(body)
        _safely(
            services,
            "category",
            user,
            channel,
            lambda: labelling.record(
                services, access, user=user, channel=channel, item_id=int(data["item"]),
                category=str(data.get("category")), now=datetime.now(UTC),
            ),
        )  # fmt: skip

    def full_work(body: dict[str, Any]) -> None:
        user, channel, data = _clicked(body)
        _safely(
            services,
            "full",
            user,
            channel,
            lambda: _tell(
                services,
                channel,
                user,
                labelling.full_text(services, access, user=user, channel=channel, item_id=int(data["item"])),
            ),
        )

    def note_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel, data = _clicked(body)
        try:
            view = labelling.note_dialog(services, access, user=user, channel=channel, item_id=int(data["item"]))
        except AfterlaunchError as exc:
            _tell(services, channel, user, error_card(exc.message))
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def note_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        user = (body.get("user") or {}).get("id", "")
        data = cards.parse_ref(view.get("private_metadata") or "")
        channel = str(data.get("channel") or "")
        state = (view.get("state") or {}).get("values", {})
        note = ((state.get(cards.NOTE_BLOCK) or {}).get(cards.NOTE_INPUT) or {}).get("value") or ""
        _safely(
            services,
            "note",
            user,
            channel,
            lambda: labelling.record(
                services, access, user=user, channel=channel, item_id=int(data["item"]), note=note.strip() or None,
                now=datetime.now(UTC),
            ),
        )  # fmt: skip

    for label in cards.LABELS:
        app.action(f"{cards.LABEL_ACTION}_{label}")(ack=_ack, lazy=[label_work])
    app.action(cards.CATEGORY_ACTION)(ack=_ack, lazy=[category_work])
    app.action(cards.FULL_ACTION)(ack=_ack, lazy=[full_work])
    app.action(cards.NOTE_ACTION)(note_clicked)
    app.view(cards.NOTE_CALLBACK)(note_submitted)
