"""Which script a text is written in: the renderer picks its font by it, the OCR its reader, the bench its rows."""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Literal

Script = Literal["latin", "cjk", "hangul", "thai", "arabic", "other"]

_BLOCKS: tuple[tuple[int, int, Script], ...] = (
    (0x0041, 0x024F, "latin"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0E00, 0x0E7F, "thai"),
    (0x1100, 0x11FF, "hangul"),
    (0x3040, 0x30FF, "cjk"),
    (0x3130, 0x318F, "hangul"),
    (0x3400, 0x4DBF, "cjk"),
    (0x4E00, 0x9FFF, "cjk"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xF900, 0xFAFF, "cjk"),
    (0xFB50, 0xFEFF, "arabic"),
)


def _script(char: str) -> Script | None:
    if not unicodedata.category(char).startswith("L"):
        return None
    code = ord(char)
    for low, high, script in _BLOCKS:
        if low <= code <= high:
            return script
    return "other"


def script_of(text: str) -> Script:
    """The script most of a text's letters are in (Latin for a text with no letters)."""
    counts = Counter(s for s in map(_script, text) if s is not None)
    if not counts:
        return "latin"
    return counts.most_common(1)[0][0]


SCRIPT_FONTS: dict[str, tuple[str, str, str]] = {
    "cjk": ("wqy", "wqy-microhei.ttc", "wqy-microhei.ttc"),
    "hangul": ("wqy", "wqy-microhei.ttc", "wqy-microhei.ttc"),
    "thai": ("tlwg", "Loma.ttf", "Loma-Bold.ttf"),
    "arabic": ("dejavu", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
}
"""(folder, regular, bold) of a Debian font that holds a script and Latin letters and digits both: Pillow
draws each line in one font, and an answer in Thai or Arabic still quotes order numbers and amounts."""
