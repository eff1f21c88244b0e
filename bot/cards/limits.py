import copy
import re
from collections.abc import Callable
from typing import Any, Literal

Surface = Literal["message", "modal", "home"]
Json = dict[str, Any]

# Slack's Block Kit limits. Lengths are characters as len() counts them; VIEW_JSON_BYTES is the size
# of the view as ASCII-escaped JSON (what the SDK sends).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
VIEW_JSON_BYTES = 250_000
VIEW_TITLE = 24
VIEW_BUTTON = 24
PRIVATE_METADATA = 3_000
CALLBACK_ID = 255
EXTERNAL_ID = 255
BLOCK_ID = 255
ACTION_ID = 255
TEXT_OBJECT = 3_000
SECTION_TEXT = 3_000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2_000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
MARKDOWN_BLOCK_TEXT = 12_000
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
URL = 3_000
ACCESSIBILITY_LABEL = 75
PLACEHOLDER = 150
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
SELECT_OPTIONS = 100
OPTION_GROUPS = 100
OPTION_GROUP_LABEL = 75
OVERFLOW_OPTIONS = 5
CHOICE_OPTIONS = 10
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
IMAGE_ALT_TEXT = 2_000
IMAGE_TITLE = 2_000
INPUT_LABEL = 2_000
INPUT_HINT = 2_000
TEXT_INPUT_LENGTH = 3_000
FILE_INPUT_MAX_FILES = 10

BLOCK_LIMITS: dict[str, int] = {"message": MESSAGE_BLOCKS, "modal": VIEW_BLOCKS, "home": VIEW_BLOCKS}
ELLIPSIS = "…"
EMPTY_TEXT = "—"

_LINK_REST = re.compile(r"[^<>\n]*>")
_ENTITY = re.compile(r"&#?\w{1,8};")
_LAST_SPACE = re.compile(r"\s\S*\Z")


def truncate_text(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Shorten text to `limit` characters at a word boundary, never inside a Slack link or entity.

    The ellipsis counts towards `limit`; an open ``` code block is closed; a word longer than
    100 characters (a URL) is cut where it must be.
    """
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return ellipsis[:limit]
    head = _head(text, limit - len(ellipsis))
    if head.count("```") % 2:
        head = _head(text, limit - len(ellipsis) - 3)
        if head.count("```") % 2:
            return head + ellipsis + "```"
    return head + ellipsis


def _head(text: str, budget: int) -> str:
    if budget <= 0:
        return ""
    cut = budget
    if not text[cut].isspace():
        space = _LAST_SPACE.search(text, max(0, cut - 100), cut)
        if space and space.start() > 0:
            cut = space.start()
    opener = text.rfind("<", 0, cut)
    if opener != -1:
        rest = _LINK_REST.match(text, opener + 1)
        if rest and rest.end() > cut:
            cut = opener
    amp = text.rfind("&", max(0, cut - 10), cut)
    if amp != -1:
        entity = _ENTITY.match(text, amp)
        if entity and entity.end() > cut:
            cut = amp
    return text[:cut].rstrip()


def check_payload(payload: dict[str, Any], *, surface: Surface) -> list[str]:
    """List every Block Kit limit a message or view breaks, each with its JSON path, before Slack does."""
    from bot.cards._blockcheck import Walker  # it reads this module's constants

    walker = Walker(fix=False)
    walker.payload(payload, surface)
    walker.totals(payload, surface)
    return walker.problems


def fit(
    payload: dict[str, Any],
    *,
    surface: Surface,
    more_action_id: str | None = "show_more",
    more_ref: str | Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """Return a copy that Slack accepts: shortened texts, first blocks kept, and a "Show more" button.

    `more_ref` becomes the button's value; a callable receives the original payload (to store it)
    and is called only when something was left out. With `more_action_id=None` no button is added.
    A payload that already passes `check_payload` is returned unchanged (as a copy).
    """
    from bot.cards._blockcheck import Walker, dumps

    out = copy.deepcopy(payload)
    walker = Walker(fix=True)
    walker.payload(out, surface)
    blocks = out.get("blocks")
    if not isinstance(blocks, list):
        return out
    limit, is_view = BLOCK_LIMITS[surface], surface != "message"
    out["blocks"] = []
    base = len(dumps(out))
    sizes = [len(dumps(block)) for block in blocks] if is_view else []

    def size(keep: int, tail: list[dict[str, Any]]) -> int:
        count = keep + len(tail)
        return base + sum(sizes[:keep]) + sum(len(dumps(t)) for t in tail) + 2 * max(count - 1, 0)

    too_big = is_view and size(len(blocks), []) > VIEW_JSON_BYTES
    needed = walker.lost or walker.dropped > 0 or len(blocks) > limit or too_big
    button = _more_button(more_action_id, more_ref, payload) if needed and more_action_id else None
    keep = len(blocks)
    while True:
        tail = _trailer(len(blocks) - keep + walker.dropped, needed, button)
        fitted = min(keep, limit - len(tail))
        while is_view and fitted > 0 and size(fitted, tail) > VIEW_JSON_BYTES:
            fitted -= 1
        if fitted == keep:
            break
        keep = fitted
    out["blocks"] = blocks[:keep] + tail
    return out


def _more_button(
    action_id: str, ref: str | Callable[[dict[str, Any]], str] | None, original: dict[str, Any]
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Show more"},
        "action_id": action_id[:ACTION_ID],
    }
    value = ref(original) if callable(ref) else ref
    if value:
        button["value"] = value[:BUTTON_VALUE]
    return button


def _trailer(left_out: int, needed: bool, button: dict[str, Any] | None) -> list[dict[str, Any]]:
    tail: list[dict[str, Any]] = []
    if left_out:
        noun = "block" if left_out == 1 else "blocks"
        note = {"type": "mrkdwn", "text": f"_{left_out} more {noun} left out._"}
        tail.append({"type": "context", "elements": [note]})
    if button is not None and needed:
        tail.append({"type": "actions", "elements": [button]})
    return tail
