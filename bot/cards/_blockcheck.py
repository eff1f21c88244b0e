import json
from collections.abc import Callable
from typing import Any, Literal

from bot.cards import limits
from bot.cards._blockkinds import _ACCESSORIES, _ACTION_ELEMENTS, _CHOICES, _INPUT_ELEMENTS

Json = dict[str, Any]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Walker:
    """Walks a payload once: reports every broken limit, and with fix=True repairs it in place."""

    def __init__(self, *, fix: bool) -> None:
        self.fix = fix
        self.problems: list[str] = []
        self.dropped = 0
        self.lost = False

    def flag(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def string(self, obj: Json, key: str, path: str, limit: int, *, soft: bool = False) -> None:
        value, where = obj.get(key), _join(path, key)
        if value is None:
            return
        if not isinstance(value, str):
            self.flag(where, "must be a string")
            if self.fix:
                del obj[key]
        elif len(value) > limit:
            self.flag(where, f"{len(value)} characters, limit {limit}")
            if self.fix:
                obj[key] = limits.truncate_text(value, limit) if soft else value[:limit]
                self.lost = True

    def url(self, obj: Json, key: str, path: str) -> None:
        value = obj.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limits.URL):
            self.flag(_join(path, key), f"must be a URL of at most {limits.URL} characters")
            if self.fix:
                del obj[key]

    def text_object(self, value: Any, path: str, limit: int, *, plain: bool = False) -> bool:
        if not (isinstance(value, dict) and value.get("type") in ("plain_text", "mrkdwn")):
            self.flag(path, "must be a text object")
            return False
        if not isinstance(value.get("text"), str):
            self.flag(_join(path, "text"), "must be a string")
            return False
        if plain and value["type"] != "plain_text":
            self.flag(_join(path, "type"), "must be plain_text")
            if self.fix:
                value["type"] = "plain_text"
                value.pop("verbatim", None)
        text = value["text"]
        if not text:
            self.flag(_join(path, "text"), "must not be empty")
            if self.fix:
                value["text"] = limits.EMPTY_TEXT
        elif len(text) > limit:
            self.flag(_join(path, "text"), f"{len(text)} characters, limit {limit}")
            if self.fix:
                value["text"] = limits.truncate_text(text, limit)
                self.lost = True
        return True

    def text(self, obj: Json, key: str, path: str, limit: int, *, plain: bool = False, required: bool = True) -> bool:
        if key not in obj:
            if required:
                self.flag(_join(path, key), "is required")
            return not required
        if self.text_object(obj[key], _join(path, key), limit, plain=plain):
            return True
        if self.fix and not required:
            del obj[key]
        return not required

    def items(
        self,
        obj: Json,
        key: str,
        path: str,
        limit: int,
        check: Callable[[Any, str], bool],
        *,
        required: bool = True,
        minimum: int = 1,
    ) -> bool:
        where, value = _join(path, key), obj.get(key)
        if value is None and not required:
            return True
        if not isinstance(value, list):
            self.flag(where, "must be a list")
            if self.fix and not required:
                del obj[key]
            return not required
        kept = [item for i, item in enumerate(value) if check(item, f"{where}[{i}]") or not self.fix]
        self.lost = self.lost or len(kept) < len(value)
        if len(kept) > limit:
            self.flag(where, f"{len(kept)} items, limit {limit}")
            if self.fix:
                kept, self.lost = kept[:limit], True
        if self.fix:
            obj[key] = kept
        if len(kept) < minimum:
            self.flag(where, f"needs at least {minimum} item(s)")
            if self.fix and not required:
                del obj[key]
            return not required
        return True

    def confirm(self, element: Json, path: str) -> None:
        dialog, where = element.get("confirm"), _join(path, "confirm")
        if dialog is None:
            return
        ok = isinstance(dialog, dict)
        if not ok:
            self.flag(where, "must be a confirmation object")
        else:
            ok = self.text(dialog, "title", where, limits.CONFIRM_TITLE, plain=True)
            ok = self.text(dialog, "text", where, limits.CONFIRM_TEXT) and ok
            ok = self.text(dialog, "confirm", where, limits.CONFIRM_BUTTON, plain=True) and ok
            ok = self.text(dialog, "deny", where, limits.CONFIRM_BUTTON, plain=True) and ok
        if self.fix and not ok:
            del element["confirm"]

    def option(self, item: Any, path: str, *, plain: bool = True) -> bool:
        if not isinstance(item, dict):
            self.flag(path, "must be an option object")
            return False
        ok = self.text(item, "text", path, limits.OPTION_TEXT, plain=plain)
        if not isinstance(item.get("value"), str):
            self.flag(_join(path, "value"), "is required")
            ok = False
        self.string(item, "value", path, limits.OPTION_VALUE)
        self.text(item, "description", path, limits.OPTION_DESCRIPTION, plain=True, required=False)
        self.url(item, "url", path)
        return ok

    def option_group(self, item: Any, path: str) -> bool:
        if not isinstance(item, dict):
            self.flag(path, "must be an option group")
            return False
        ok = self.text(item, "label", path, limits.OPTION_GROUP_LABEL, plain=True)
        return self.items(item, "options", path, limits.SELECT_OPTIONS, self.option) and ok

    def initial_options(self, element: Json, path: str) -> None:
        groups = element.get("option_groups") or [{"options": element.get("options")}]
        options = [o for g in _dicts(groups) for o in _dicts(g.get("options"))]
        values = {o.get("value") for o in options}
        single = element.get("initial_option")
        if isinstance(single, dict) and single.get("value") not in values:
            self.flag(_join(path, "initial_option"), "is not one of the options")
            if self.fix:
                del element["initial_option"]
        many = element.get("initial_options")
        if isinstance(many, list) and any(o.get("value") not in values for o in _dicts(many)):
            self.flag(_join(path, "initial_options"), "are not all among the options")
            if self.fix:
                element["initial_options"] = [o for o in _dicts(many) if o.get("value") in values]

    def bounded_int(self, obj: Json, key: str, path: str, low: int, high: int) -> None:
        value = obj.get(key)
        if value is not None and (not isinstance(value, int) or not low <= value <= high):
            self.flag(_join(path, key), f"must be an integer from {low} to {high}")
            if self.fix:
                obj[key] = min(max(value, low), high) if isinstance(value, int) else high

    def text_input(self, element: Json, path: str) -> None:
        self.bounded_int(element, "min_length", path, 0, limits.TEXT_INPUT_LENGTH)
        self.bounded_int(element, "max_length", path, 1, limits.TEXT_INPUT_LENGTH)
        low, high = element.get("min_length", 0), element.get("max_length", limits.TEXT_INPUT_LENGTH)
        if not (isinstance(low, int) and isinstance(high, int)):
            return
        if low > high:
            self.flag(_join(path, "min_length"), "is greater than max_length")
            if self.fix:
                element["min_length"] = high
        self.string(element, "initial_value", path, high)

    def element(self, element: Any, path: str, allowed: frozenset[str]) -> bool:
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in allowed:
            self.flag(path, f"element type {kind!r} is not allowed here")
            return False
        if kind == "image":
            return self.image(element, path)
        ok = True
        self.string(element, "action_id", path, limits.ACTION_ID)
        self.text(element, "placeholder", path, limits.PLACEHOLDER, plain=True, required=False)
        self.confirm(element, path)
        if kind == "button":
            ok = self.text(element, "text", path, limits.BUTTON_TEXT, plain=True)
            self.string(element, "value", path, limits.BUTTON_VALUE)
            self.url(element, "url", path)
            self.string(element, "accessibility_label", path, limits.ACCESSIBILITY_LABEL, soft=True)
            if element.get("style", "primary") not in ("primary", "danger"):
                self.flag(_join(path, "style"), "must be primary or danger")
                if self.fix:
                    del element["style"]
        elif kind in ("static_select", "multi_static_select"):
            if "option_groups" in element:
                ok = self.items(element, "option_groups", path, limits.OPTION_GROUPS, self.option_group)
            else:
                ok = self.items(element, "options", path, limits.SELECT_OPTIONS, self.option)
            self.initial_options(element, path)
        elif kind == "overflow":
            ok = self.items(element, "options", path, limits.OVERFLOW_OPTIONS, self.option)
        elif kind in _CHOICES:
            choice = lambda o, p: self.option(o, p, plain=False)  # noqa: E731
            ok = self.items(element, "options", path, limits.CHOICE_OPTIONS, choice)
            self.initial_options(element, path)
        elif kind == "plain_text_input":
            self.text_input(element, path)
        elif kind == "file_input":
            self.bounded_int(element, "max_files", path, 1, limits.FILE_INPUT_MAX_FILES)
        return ok

    def image(self, obj: Json, path: str) -> bool:
        ok = True
        if "slack_file" not in obj:
            url = obj.get("image_url")
            ok = isinstance(url, str) and 0 < len(url) <= limits.URL
            if not ok:
                self.flag(_join(path, "image_url"), f"must be a URL of 1 to {limits.URL} characters")
        if not isinstance(obj.get("alt_text"), str) or not obj["alt_text"]:
            self.flag(_join(path, "alt_text"), "is required")
            ok = False
        self.string(obj, "alt_text", path, limits.IMAGE_ALT_TEXT, soft=True)
        return ok

    def block(self, block: Any, path: str) -> bool:
        kind = block.get("type") if isinstance(block, dict) else None
        check = _BLOCK_CHECKS.get(kind) if isinstance(kind, str) else None
        if check is None:
            self.flag(path, f"unknown block type {kind!r}")
            return False
        self.string(block, "block_id", path, limits.BLOCK_ID)
        return check(self, block, path)

    def section(self, block: Json, path: str) -> bool:
        self.text(block, "text", path, limits.SECTION_TEXT, required=False)
        field = lambda f, p: self.text_object(f, p, limits.SECTION_FIELD_TEXT)  # noqa: E731
        self.items(block, "fields", path, limits.SECTION_FIELDS, field, required=False)
        accessory = block.get("accessory")
        if accessory is not None and not self.element(accessory, _join(path, "accessory"), _ACCESSORIES) and self.fix:
            del block["accessory"]
            self.lost = True
        if "text" not in block and "fields" not in block:
            self.flag(path, "a section needs text or fields")
            return False
        return True

    def header(self, block: Json, path: str) -> bool:
        return self.text(block, "text", path, limits.HEADER_TEXT, plain=True)

    def context(self, block: Json, path: str) -> bool:
        def check(item: Any, where: str) -> bool:
            if isinstance(item, dict) and item.get("type") == "image":
                return self.image(item, where)
            return self.text_object(item, where, limits.TEXT_OBJECT)

        return self.items(block, "elements", path, limits.CONTEXT_ELEMENTS, check)

    def actions(self, block: Json, path: str) -> bool:
        check = lambda e, p: self.element(e, p, _ACTION_ELEMENTS)  # noqa: E731
        ok = self.items(block, "elements", path, limits.ACTIONS_ELEMENTS, check)
        seen: set[str] = set()
        for i, element in enumerate(block.get("elements") or []):
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str) and action_id in seen:
                self.flag(f"{path}.elements[{i}].action_id", f"duplicate action_id {action_id!r}")
                if self.fix:
                    del element["action_id"]
            elif isinstance(action_id, str):
                seen.add(action_id)
        return ok

    def image_block(self, block: Json, path: str) -> bool:
        self.text(block, "title", path, limits.IMAGE_TITLE, plain=True, required=False)
        return self.image(block, path)

    def input(self, block: Json, path: str) -> bool:
        ok = self.text(block, "label", path, limits.INPUT_LABEL, plain=True)
        self.text(block, "hint", path, limits.INPUT_HINT, plain=True, required=False)
        return self.element(block.get("element"), _join(path, "element"), _INPUT_ELEMENTS) and ok

    def markdown(self, block: Json, path: str) -> bool:
        if not isinstance(block.get("text"), str) or not block["text"]:
            self.flag(_join(path, "text"), "is required")
            return False
        self.string(block, "text", path, limits.MARKDOWN_BLOCK_TEXT, soft=True)
        return True

    def payload(self, payload: Json, surface: Literal["message", "modal", "home"]) -> None:
        """Check everything but the block count and the view size, which fit() trims as a whole."""
        if surface == "message":
            self.string(payload, "text", "", limits.MESSAGE_TEXT, soft=True)
        else:
            self.view_fields(payload, surface)
        self.lost = False  # only what is cut from the blocks calls for a "Show more" button
        blocks = payload.get("blocks")
        if (blocks is not None or surface != "message") and not isinstance(blocks, list):
            self.flag("blocks", "must be a list")
            if self.fix:
                blocks = payload["blocks"] = []
        if isinstance(blocks, list):
            kept = [b for i, b in enumerate(blocks) if self.block(b, f"blocks[{i}]") or not self.fix]
            self.dropped = len(blocks) - len(kept)
            if self.fix:
                payload["blocks"] = blocks = kept
            self.unique_block_ids(blocks)
        if surface == "message" and not payload.get("text") and not blocks and not self.dropped:
            self.flag("text", "a message needs text or blocks")
            if self.fix:
                payload["text"] = limits.EMPTY_TEXT
        if surface == "modal" and "submit" not in payload and any(_is_input(b) for b in blocks or []):
            self.flag("submit", "a modal with input blocks needs a submit button")
            if self.fix:
                payload["submit"] = {"type": "plain_text", "text": "Submit"}

    def view_fields(self, view: Json, surface: str) -> None:
        if view.get("type") != surface:
            self.flag("type", f"must be {surface!r}")
            if self.fix:
                view["type"] = surface
        if surface == "modal" and not self.text(view, "title", "", limits.VIEW_TITLE, plain=True) and self.fix:
            view["title"] = {"type": "plain_text", "text": "afterlaunch"}
        for key in ("submit", "close"):
            self.text(view, key, "", limits.VIEW_BUTTON, plain=True, required=False)
        self.string(view, "private_metadata", "", limits.PRIVATE_METADATA)
        self.string(view, "callback_id", "", limits.CALLBACK_ID)
        self.string(view, "external_id", "", limits.EXTERNAL_ID)

    def unique_block_ids(self, blocks: list[Any]) -> None:
        first: dict[str, int] = {}
        for i, block in enumerate(blocks):
            block_id = block.get("block_id") if isinstance(block, dict) else None
            if not isinstance(block_id, str):
                continue
            if block_id in first:
                self.flag(f"blocks[{i}].block_id", f"duplicates blocks[{first[block_id]}].block_id")
                if self.fix:
                    del block["block_id"]
            else:
                first[block_id] = i

    def totals(self, payload: Json, surface: Literal["message", "modal", "home"]) -> None:
        """The whole-payload limits, reported by check_payload only."""
        blocks = payload.get("blocks")
        if isinstance(blocks, list) and len(blocks) > limits.BLOCK_LIMITS[surface]:
            self.flag("blocks", f"{len(blocks)} blocks, limit {limits.BLOCK_LIMITS[surface]}")
        if surface != "message" and (size := len(dumps(payload))) > limits.VIEW_JSON_BYTES:
            self.flag("view", f"{size} bytes of JSON, limit {limits.VIEW_JSON_BYTES}")


def dumps(value: Any) -> str:
    """JSON as the Slack SDK sends it (ASCII-escaped), the largest of the usual encodings."""
    return json.dumps(value, default=str)


def _dicts(value: Any) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _is_input(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "input"


def _nothing_to_check(walker: Walker, block: Json, path: str) -> bool:
    return True


_BLOCK_CHECKS: dict[str, Callable[[Walker, Json, str], bool]] = {
    "section": Walker.section,
    "header": Walker.header,
    "context": Walker.context,
    "actions": Walker.actions,
    "divider": _nothing_to_check,
    "image": Walker.image_block,
    "input": Walker.input,
    "markdown": Walker.markdown,
    # Slack builds these itself (rich text from the composer, shared files); only block_id is checked.
    **dict.fromkeys(("rich_text", "file", "video"), _nothing_to_check),
}
