from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.cards.limits import check_payload, fit

Block = dict[str, Any]
Style = Literal["primary", "danger"]

# Builders take Slack mrkdwn as given: text from bot.cards.text.render is already escaped,
# and anything else user-provided goes through slack_escape first.


def plain(text: str, *, emoji: bool = True) -> dict[str, Any]:
    """A plain_text object, for the places Slack does not format (headers, buttons, labels)."""
    return {"type": "plain_text", "text": text, "emoji": emoji}


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object, for sections and context lines."""
    return {"type": "mrkdwn", "text": text}


def header(text: str, *, block_id: str | None = None) -> Block:
    """The bold title line at the top of a card."""
    return _with_id({"type": "header", "text": plain(text)}, block_id)


def section(
    text: str | None = None,
    *,
    fields: Sequence[str] | None = None,
    accessory: dict[str, Any] | None = None,
    block_id: str | None = None,
) -> Block:
    """The main text of a card, with optional two-column fields and one element on the right."""
    block: Block = {"type": "section"}
    if text is not None:
        block["text"] = mrkdwn(text)
    if fields:
        block["fields"] = [mrkdwn(item) for item in fields]
    if accessory is not None:
        block["accessory"] = accessory
    return _with_id(block, block_id)


def fields_section(pairs: Sequence[tuple[str, str]], *, block_id: str | None = None) -> Block:
    """Label/value facts (cost, model, owner) shown as Slack's two-column fields."""
    return section(fields=[f"*{label}*\n{value}" for label, value in pairs], block_id=block_id)


def context(*texts: str | dict[str, Any], block_id: str | None = None) -> Block:
    """Small grey lines under a card: sources, timestamps, who did what."""
    elements = [mrkdwn(item) if isinstance(item, str) else item for item in texts]
    return _with_id({"type": "context", "elements": elements}, block_id)


def divider(*, block_id: str | None = None) -> Block:
    """A horizontal rule between parts of a card."""
    return _with_id({"type": "divider"}, block_id)


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    """A row of buttons and menus the on-call engineer acts with."""
    return _with_id({"type": "actions", "elements": list(elements)}, block_id)


def confirm_dialog(
    title: str, text: str, *, confirm: str = "Confirm", deny: str = "Cancel", style: Style | None = None
) -> dict[str, Any]:
    """An "are you sure?" step for buttons that change production (kill switches, rollbacks)."""
    dialog: dict[str, Any] = {"title": plain(title), "text": plain(text)}
    dialog.update(confirm=plain(confirm), deny=plain(deny))
    if style is not None:
        dialog["style"] = style
    return dialog


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    style: Style | None = None,
    url: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A button whose click reaches the listener registered for `action_id`."""
    element: dict[str, Any] = {"type": "button", "text": plain(text), "action_id": action_id}
    optional = {"value": value, "style": style, "url": url, "confirm": confirm}
    element.update({key: item for key, item in optional.items() if item is not None})
    return element


def option(text: str, value: str, *, description: str | None = None) -> dict[str, Any]:
    """One choice of a select menu."""
    item: dict[str, Any] = {"text": plain(text), "value": value}
    if description is not None:
        item["description"] = plain(description)
    return item


def static_select(
    action_id: str,
    options: Sequence[tuple[str, str] | dict[str, Any]],
    *,
    placeholder: str = "Choose…",
    initial_value: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A menu of fixed choices; options are (text, value) pairs or `option()` dicts."""
    items = [item if isinstance(item, dict) else option(*item) for item in options]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(placeholder),
        "options": items,
    }
    chosen = [item for item in items if item["value"] == initial_value]
    if chosen:
        element["initial_option"] = chosen[0]
    if confirm is not None:
        element["confirm"] = confirm
    return element


def image(url: str, alt: str, *, title: str | None = None, block_id: str | None = None) -> Block:
    """A full-width picture, such as a screenshot a user reported."""
    block: Block = {"type": "image", "image_url": url, "alt_text": alt}
    if title is not None:
        block["title"] = plain(title)
    return _with_id(block, block_id)


def image_element(url: str, alt: str) -> dict[str, Any]:
    """A small picture for a context line or a section's accessory."""
    return {"type": "image", "image_url": url, "alt_text": alt}


def plain_text_input(
    action_id: str,
    *,
    placeholder: str | None = None,
    initial_value: str | None = None,
    multiline: bool = False,
    min_length: int | None = None,
    max_length: int | None = None,
) -> dict[str, Any]:
    """A text box inside an input block (a reason, a note, a budget)."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline}
    if placeholder is not None:
        element["placeholder"] = plain(placeholder)
    optional = {"initial_value": initial_value, "min_length": min_length, "max_length": max_length}
    element.update({key: item for key, item in optional.items() if item is not None})
    return element


def file_input(action_id: str, *, filetypes: Sequence[str] | None = None, max_files: int = 1) -> dict[str, Any]:
    """A file picker in a modal, used to upload a screenshot for triage."""
    element: dict[str, Any] = {"type": "file_input", "action_id": action_id, "max_files": max_files}
    if filetypes:
        element["filetypes"] = list(filetypes)
    return element


def input_block(
    label: str,
    element: dict[str, Any],
    *,
    block_id: str | None = None,
    hint: str | None = None,
    optional: bool = False,
) -> Block:
    """A labelled form field of a modal; its value comes back keyed by block_id and action_id."""
    block: Block = {"type": "input", "label": plain(label), "element": element, "optional": optional}
    if hint is not None:
        block["hint"] = plain(hint)
    return _with_id(block, block_id)


def modal(
    title: str,
    blocks: Sequence[Block],
    *,
    callback_id: str,
    submit: str | None = None,
    close: str | None = None,
    private_metadata: str | None = None,
) -> dict[str, Any]:
    """A modal view for views.open/views.update; `callback_id` routes its submission."""
    view: dict[str, Any] = {"type": "modal", "callback_id": callback_id, "title": plain(title), "blocks": list(blocks)}
    if submit is not None:
        view["submit"] = plain(submit)
    if close is not None:
        view["close"] = plain(close)
    if private_metadata is not None:
        view["private_metadata"] = private_metadata
    return view


def home(blocks: Sequence[Block], *, callback_id: str | None = None) -> dict[str, Any]:
    """The App Home tab view for views.publish."""
    view: dict[str, Any] = {"type": "home", "blocks": list(blocks)}
    if callback_id is not None:
        view["callback_id"] = callback_id
    return view


def _with_id(block: Block, block_id: str | None) -> Block:
    if block_id is not None:
        block["block_id"] = block_id
    return block


@dataclass
class Card:
    """A message ready for chat.postMessage: `text` is the notification fallback, `blocks` the body."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    thread_text: str | None = None
    unfurl: bool = False
    metadata: dict[str, Any] | None = None

    def to_message(self, *, more_ref: str | Callable[[dict[str, Any]], str] | None = None) -> dict[str, Any]:
        """The chat.postMessage arguments, fitted to Slack's limits so posting never fails on size."""
        return fit(self._raw(), surface="message", more_ref=more_ref)

    def thread_message(self) -> dict[str, Any] | None:
        """The follow-up posted in the card's thread (details too long for the card), if any."""
        if not self.thread_text:
            return None
        return fit({"text": self.thread_text, "unfurl_links": False}, surface="message")

    def problems(self) -> list[str]:
        """What Slack would reject before fitting; tests assert this is empty for every card."""
        return check_payload(self._raw(), surface="message")

    def _raw(self) -> dict[str, Any]:
        message: dict[str, Any] = {"text": self.text, "unfurl_links": self.unfurl, "unfurl_media": self.unfurl}
        if self.blocks:
            message["blocks"] = list(self.blocks)
        if self.metadata is not None:
            message["metadata"] = self.metadata
        return message
