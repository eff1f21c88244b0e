from __future__ import annotations

import json
from typing import Any

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
VIEW_MAX_BYTES = 250_000

_INPUT_ONLY = {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "file_input",
    "rich_text_input",
}
_SELECTS = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
}
_CHOICES = {"checkboxes", "radio_buttons"}
_PICKERS = {"datepicker", "timepicker", "datetimepicker"}
_ACTION_ELEMENTS = {"button", "overflow", "workflow_button"} | _SELECTS | _CHOICES | _PICKERS
_ELEMENTS = _ACTION_ELEMENTS | _INPUT_ONLY | {"image"}
_ACCESSORIES = _ACTION_ELEMENTS | {"image"}
_INPUT_ELEMENTS = _INPUT_ONLY | _SELECTS | _CHOICES | _PICKERS
_BLOCK_TYPES = {
    "section",
    "header",
    "divider",
    "actions",
    "context",
    "image",
    "input",
    "rich_text",
    "file",
    "video",
    "markdown",
}


class Problems:
    """Collects what is wrong and where, worded like Slack's response_metadata.messages."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, pointer: str, message: str) -> None:
        """Note one problem at a JSON pointer into the request."""
        self.messages.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def max_len(self, pointer: str, value: Any, limit: int) -> None:
        """Note a string longer than Slack allows (absent values are the caller's concern)."""
        if isinstance(value, str) and len(value) > limit:
            self.add(pointer, f"must be less than {limit + 1} characters")

    def max_items(self, pointer: str, value: Any, limit: int) -> None:
        """Note an array with more items than Slack allows."""
        if isinstance(value, list) and len(value) > limit:
            self.add(pointer, f"must be no more than {limit} items")


def check_text(p: Problems, obj: Any, ptr: str, limit: int, *, plain_only: bool = False) -> None:
    """Check a text object: a known type, non-empty text, within the field's limit."""
    if not isinstance(obj, dict):
        p.add(ptr, "must be a text object")
        return
    kind = obj.get("type")
    if kind not in ("plain_text", "mrkdwn"):
        p.add(f"{ptr}/type", "must be one of plain_text, mrkdwn")
    elif plain_only and kind != "plain_text":
        p.add(f"{ptr}/type", "must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        p.add(f"{ptr}/text", "must be more than 0 characters")
    else:
        p.max_len(f"{ptr}/text", text, limit)


def _check_option(p: Problems, option: Any, ptr: str, *, plain_only: bool) -> None:
    if not isinstance(option, dict):
        p.add(ptr, "must be an option object")
        return
    check_text(p, option.get("text"), f"{ptr}/text", 75, plain_only=plain_only)
    if "value" in option:
        p.max_len(f"{ptr}/value", option["value"], 150)
    if "description" in option:
        check_text(p, option["description"], f"{ptr}/description", 75, plain_only=plain_only)
    p.max_len(f"{ptr}/url", option.get("url"), 3000)


def _check_options(p: Problems, element: dict[str, Any], ptr: str, limit: int) -> None:
    kind = element.get("type")
    plain_only = kind not in _CHOICES
    options = element.get("options")
    if options is None:
        if kind in ("static_select", "multi_static_select") and "option_groups" in element:
            groups = element["option_groups"]
            p.max_items(f"{ptr}/option_groups", groups, 100)
            for i, group in enumerate(groups if isinstance(groups, list) else []):
                for j, option in enumerate(group.get("options", []) if isinstance(group, dict) else []):
                    _check_option(p, option, f"{ptr}/option_groups/{i}/options/{j}", plain_only=True)
        elif kind in ("static_select", "multi_static_select", "overflow") or kind in _CHOICES:
            p.add(f"{ptr}/options", "is required")
        return
    if not isinstance(options, list) or not options:
        p.add(f"{ptr}/options", "must be a non-empty array")
        return
    p.max_items(f"{ptr}/options", options, limit)
    for i, option in enumerate(options):
        _check_option(p, option, f"{ptr}/options/{i}", plain_only=plain_only)


def _check_confirm(p: Problems, confirm: Any, ptr: str) -> None:
    if not isinstance(confirm, dict):
        p.add(ptr, "must be a confirmation dialog object")
        return
    check_text(p, confirm.get("title"), f"{ptr}/title", 100, plain_only=True)
    check_text(p, confirm.get("text"), f"{ptr}/text", 300)
    check_text(p, confirm.get("confirm"), f"{ptr}/confirm", 30, plain_only=True)
    check_text(p, confirm.get("deny"), f"{ptr}/deny", 30, plain_only=True)


def check_element(p: Problems, element: Any, ptr: str, allowed: set[str]) -> None:
    """Check one block element (button, select, input, image...) against Slack's limits."""
    if not isinstance(element, dict):
        p.add(ptr, "must be an element object")
        return
    kind = element.get("type")
    if kind not in _ELEMENTS:
        p.add(f"{ptr}/type", f"unknown element type {kind!r}")
        return
    if kind not in allowed:
        p.add(f"{ptr}/type", f"element type {kind!r} is not allowed here")
        return
    p.max_len(f"{ptr}/action_id", element.get("action_id"), 255)
    if "placeholder" in element:
        check_text(p, element["placeholder"], f"{ptr}/placeholder", 150, plain_only=True)
    if "confirm" in element:
        _check_confirm(p, element["confirm"], f"{ptr}/confirm")
    if kind == "button":
        check_text(p, element.get("text"), f"{ptr}/text", 75, plain_only=True)
        p.max_len(f"{ptr}/value", element.get("value"), 2000)
        p.max_len(f"{ptr}/url", element.get("url"), 3000)
        if "style" in element and element["style"] not in ("primary", "danger"):
            p.add(f"{ptr}/style", "must be one of primary, danger")
    elif kind == "image":
        _check_image(p, element, ptr)
    elif kind == "overflow":
        _check_options(p, element, ptr, 5)
    elif kind in _CHOICES:
        _check_options(p, element, ptr, 10)
    elif kind in _SELECTS:
        _check_options(p, element, ptr, 100)
    elif kind == "plain_text_input":
        max_length = element.get("max_length")
        if isinstance(max_length, int) and max_length > 3000:
            p.add(f"{ptr}/max_length", "must be no more than 3000")


def _check_image(p: Problems, obj: dict[str, Any], ptr: str) -> None:
    if "image_url" not in obj and "slack_file" not in obj:
        p.add(f"{ptr}/image_url", "is required")
    p.max_len(f"{ptr}/image_url", obj.get("image_url"), 3000)
    alt = obj.get("alt_text")
    if not isinstance(alt, str) or not alt:
        p.add(f"{ptr}/alt_text", "must be more than 0 characters")
    p.max_len(f"{ptr}/alt_text", alt, 2000)


def _unique_action_ids(p: Problems, elements: list[Any], ptr: str) -> None:
    seen: set[str] = set()
    for i, element in enumerate(elements):
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                p.add(f"{ptr}/{i}/action_id", f"duplicate action_id {action_id!r} in this block")
            seen.add(action_id)


def _check_section(p: Problems, block: dict[str, Any], ptr: str) -> None:
    if "text" not in block and "fields" not in block:
        p.add(ptr, "must provide text or fields")
    if "text" in block:
        check_text(p, block["text"], f"{ptr}/text", 3000)
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list) or not fields:
            p.add(f"{ptr}/fields", "must be a non-empty array")
        else:
            p.max_items(f"{ptr}/fields", fields, 10)
            for i, item in enumerate(fields):
                check_text(p, item, f"{ptr}/fields/{i}", 2000)
    if "accessory" in block:
        check_element(p, block["accessory"], f"{ptr}/accessory", _ACCESSORIES)


def _check_list_block(p: Problems, block: dict[str, Any], ptr: str, limit: int) -> list[Any]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        p.add(f"{ptr}/elements", "must be a non-empty array")
        return []
    p.max_items(f"{ptr}/elements", elements, limit)
    return elements


def check_block(p: Problems, block: Any, ptr: str) -> None:
    """Check one layout block and everything inside it."""
    if not isinstance(block, dict):
        p.add(ptr, "must be a block object")
        return
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        p.add(f"{ptr}/type", f"unknown block type {kind!r}")
        return
    p.max_len(f"{ptr}/block_id", block.get("block_id"), 255)
    if kind == "section":
        _check_section(p, block, ptr)
    elif kind == "header":
        check_text(p, block.get("text"), f"{ptr}/text", 150, plain_only=True)
    elif kind == "context":
        for i, element in enumerate(_check_list_block(p, block, ptr, 10)):
            element_ptr = f"{ptr}/elements/{i}"
            if isinstance(element, dict) and element.get("type") == "image":
                _check_image(p, element, element_ptr)
            else:
                check_text(p, element, element_ptr, 3000)
    elif kind == "actions":
        elements = _check_list_block(p, block, ptr, 25)
        for i, element in enumerate(elements):
            check_element(p, element, f"{ptr}/elements/{i}", _ACTION_ELEMENTS)
        _unique_action_ids(p, elements, f"{ptr}/elements")
    elif kind == "input":
        check_text(p, block.get("label"), f"{ptr}/label", 2000, plain_only=True)
        if "hint" in block:
            check_text(p, block["hint"], f"{ptr}/hint", 2000, plain_only=True)
        if "element" not in block:
            p.add(f"{ptr}/element", "is required")
        else:
            check_element(p, block["element"], f"{ptr}/element", _INPUT_ELEMENTS)
    elif kind == "image":
        _check_image(p, block, ptr)
        if "title" in block:
            check_text(p, block["title"], f"{ptr}/title", 2000, plain_only=True)
    elif kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not text:
            p.add(f"{ptr}/text", "must be more than 0 characters")
        p.max_len(f"{ptr}/text", text, 12000)
    elif kind == "rich_text":
        _check_list_block(p, block, ptr, 10_000)


def check_blocks(blocks: Any, ptr: str, limit: int) -> list[str]:
    """Check a blocks array for a message (limit 50) or a view (limit 100); return the problems."""
    p = Problems()
    if not isinstance(blocks, list):
        p.add(ptr, "must be an array")
        return p.messages
    p.max_items(ptr, blocks, limit)
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        check_block(p, block, f"{ptr}/{i}")
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in seen:
                p.add(f"{ptr}/{i}/block_id", f"duplicate block_id {block_id!r}")
            seen.add(block_id)
    return p.messages


def check_view(view: Any, *, expected: set[str]) -> list[str]:
    """Check a modal or Home tab view as views.open/update/push/publish would; return the problems."""
    p = Problems()
    if not isinstance(view, dict):
        p.add("/view", "must be a view object")
        return p.messages
    kind = view.get("type")
    if kind not in expected:
        p.add("/view/type", f"must be one of {', '.join(sorted(expected))}")
        return p.messages
    if len(json.dumps(view, separators=(",", ":")).encode()) > VIEW_MAX_BYTES:
        p.add("/view", f"must be no larger than {VIEW_MAX_BYTES} bytes")
    p.max_len("/view/callback_id", view.get("callback_id"), 255)
    p.max_len("/view/private_metadata", view.get("private_metadata"), 3000)
    p.max_len("/view/external_id", view.get("external_id"), 255)
    blocks = view.get("blocks")
    if kind == "modal":
        check_text(p, view.get("title"), "/view/title", 24, plain_only=True)
        for button in ("submit", "close"):
            if button in view:
                check_text(p, view[button], f"/view/{button}", 24, plain_only=True)
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and "submit" not in view:
            p.add("/view/submit", "is required when the view has input blocks")
    if blocks is None:
        p.add("/view/blocks", "is required")
    else:
        p.messages.extend(check_blocks(blocks, "/view/blocks", VIEW_MAX_BLOCKS))
    return p.messages
