"""/triage in Slack: the command, the upload dialog, the "Triage this" shortcut, @mentions, and the card's buttons.

Every listener acks at once; OCR and queries run in Bolt's lazy listeners after the ack (the app processes
before responding, so a slow listener would hold Slack's request past its 3 seconds).
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
from bot.services import Services
from bot.slack.post import send_ephemeral
from bot.slack.registry import SlashCommand, error_card
from bot.triage import actions, cards

log = logging.getLogger(__name__)

SHORTCUT_CALLBACK = "triage_message"

COMMAND = SlashCommand(
    name="/triage",
    description="Find the logged request behind a screenshot of the AI: its prompt, context, versions and reach",
    usage_hint='[request_id | "what the AI said"] (no argument: upload a screenshot)',
    handler=actions.handle_command,
)


def _ack(ack: Ack) -> None:
    ack()


def _clicked(body: dict[str, Any]) -> tuple[str, str, int]:
    """(user, channel, row id) of a click on a triage card's button."""
    action = (body.get("actions") or [{}])[0]
    user = (body.get("user") or {}).get("id", "")
    channel = (body.get("channel") or {}).get("id", "") or (body.get("container") or {}).get("channel_id", "")
    return user, channel, cards.parse_ref(str(action.get("value") or ""))


def _tell(services: Services, channel: str, user: str, card: Card) -> None:
    """An ephemeral answer through the outbox, so it is stored before it is said."""
    with services.db.write_session() as session:
        send_ephemeral(session=session, channel=channel, user=user, card=card, now=datetime.now(UTC))
    services.wake_outbox.set()


def _safely(services: Services, name: str, work: Callable[[str, str], None]) -> Callable[[str, str], None]:
    """Run work after the ack; a known refusal or an unexpected failure reaches the user as an ephemeral line."""

    def run(user: str, channel: str) -> None:
        try:
            work(user, channel)
        except AfterlaunchError as exc:
            _tell(services, channel, user, error_card(exc.message))
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("triage %s failed (ref %s)", name, ref)
            _tell(services, channel, user, error_card(f"triage failed on our side (ref {ref})"))

    return run


def _upload_to_dm(client: WebClient, user: str, filename: str, content: bytes) -> None:
    dm = client.conversations_open(users=user)["channel"]["id"]
    client.files_upload_v2(channel=dm, content=content, filename=filename, title=filename)


def register(app: App, services: Services, access: AccessChecker) -> None:
    """The dialog submission, the message shortcut, mentions in the triage channel, and the card's buttons."""

    def submitted_ack(ack: Ack, view: dict[str, Any]) -> None:
        if actions.uploaded_file_id(view) is None:
            ack(response_action="errors", errors={cards.FILE_BLOCK: "attach a PNG, JPEG or WebP screenshot"})
            return
        ack()

    def submitted_work(body: dict[str, Any], view: dict[str, Any]) -> None:
        user = (body.get("user") or {}).get("id", "")
        channel = actions.dialog_channel(view, user)
        file_id = actions.uploaded_file_id(view) or ""
        _safely(services, "upload", lambda u, c: _triage_file(u, c, file_id))(user, channel)

    def _triage_file(user: str, channel: str, file_id: str) -> None:
        actions.triage_slack_file(services, file_id, channel=channel, user=user, now=datetime.now(UTC))

    def shortcut_work(body: dict[str, Any]) -> None:
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")

        def work(u: str, c: str) -> None:
            _triage_file(u, c, actions.image_file_id((body.get("message") or {}).get("files")))

        _safely(services, "shortcut", work)(user, channel)

    def mention_work(event: dict[str, Any]) -> None:
        triage_channel = services.settings.file.channels.triage
        channel, user = str(event.get("channel") or ""), str(event.get("user") or "")
        if not triage_channel or channel != triage_channel:
            log.info("ignored a mention outside the triage channel")
            return

        def work(u: str, c: str) -> None:
            _triage_file(u, c, actions.image_file_id(event.get("files")))

        _safely(services, "mention", work)(user, channel)

    def full_work(body: dict[str, Any]) -> None:
        user, channel, row_id = _clicked(body)

        def work(u: str, c: str) -> None:
            _tell(services, c, u, actions.full_context(services, access, user=u, channel=c, row_id=row_id))

        _safely(services, "full", work)(user, channel)

    def export_work(body: dict[str, Any], client: WebClient) -> None:
        user, channel, row_id = _clicked(body)

        def work(u: str, c: str) -> None:
            name, content = actions.export_bundle(
                services, access, user=u, channel=c, row_id=row_id, now=datetime.now(UTC)
            )
            _upload_to_dm(client, u, name, content)
            _tell(services, c, u, Card(text=f"The replay bundle {name} is in your direct messages.", blocks=[]))

        _safely(services, "export", work)(user, channel)

    def similar_work(body: dict[str, Any]) -> None:
        user, channel, row_id = _clicked(body)

        def work(u: str, c: str) -> None:
            _tell(services, c, u, actions.similar(services, channel=c, row_id=row_id, now=datetime.now(UTC)))

        _safely(services, "similar", work)(user, channel)

    def pick_work(body: dict[str, Any]) -> None:
        user, channel, row_id = _clicked(body)

        def work(u: str, c: str) -> None:
            unposted = actions.pick(services, channel=c, user=u, row_id=row_id, now=datetime.now(UTC))
            if unposted is not None:
                _tell(services, c, u, unposted)

        _safely(services, "pick", work)(user, channel)

    def runbook_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _, channel, row_id = _clicked(body)
        client.views_open(
            trigger_id=body["trigger_id"], view=actions.runbook_modal(services, channel=channel, row_id=row_id)
        )

    app.view(cards.UPLOAD_CALLBACK)(ack=submitted_ack, lazy=[submitted_work])
    app.shortcut(SHORTCUT_CALLBACK)(ack=_ack, lazy=[shortcut_work])
    app.event("app_mention")(ack=_ack, lazy=[mention_work])
    app.action(cards.FULL_ACTION)(ack=_ack, lazy=[full_work])
    app.action(cards.EXPORT_ACTION)(ack=_ack, lazy=[export_work])
    app.action(cards.SIMILAR_ACTION)(ack=_ack, lazy=[similar_work])
    app.action(cards.PICK_ACTION)(ack=_ack, lazy=[pick_work])
    app.action(cards.RUNBOOK_ACTION)(runbook_clicked)
