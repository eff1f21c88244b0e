import re
import sys
from collections.abc import Iterable
from typing import Any

Run = tuple[str, frozenset[str]]

_ANSI = {
    "bold": "1",
    "dim": "2",
    "italic": "3",
    "underline": "4",
    "strike": "9",
    "code": "36",
    "primary": "32",
    "danger": "31",
}
_ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")
_TOKEN = re.compile(
    r"```(?P<pre>.*?)```"
    r"|`(?P<code>[^`\n]+)`"
    r"|<(?P<link>[^<>\n]+)>"
    r"|(?<![\w*])\*(?P<bold>[^*\n]+)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\n]+)_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^~\n]+)~(?![\w~])",
    re.S,
)
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}


def to_terminal(payload: dict[str, Any], *, width: int = 100, color: bool | None = None) -> str:
    """Show a card in a terminal, for local mode (no Slack token) and `afterlaunch ask`.

    `color=None` turns ANSI styling on only when standard output is a terminal.
    """
    painter = _Painter(width=max(width, 20), color=sys.stdout.isatty() if color is None else color)
    lines: list[str] = []
    title = payload.get("title")
    if isinstance(title, dict):
        lines += painter.heading(str(title.get("text", "")), "═")
    blocks = payload.get("blocks")
    if isinstance(blocks, list) and blocks:
        for block in blocks:
            if isinstance(block, dict):
                lines += painter.block(block)
    elif payload.get("text"):
        lines += painter.wrap(str(payload["text"]))
    buttons = [payload[key] for key in ("submit", "close") if isinstance(payload.get(key), dict)]
    if buttons:
        lines.append(" ".join(painter.button({"text": item}) for item in buttons))
    return "\n".join(line.rstrip() for line in lines).rstrip("\n")


def mrkdwn_runs(text: str, styles: frozenset[str] = frozenset()) -> list[Run]:
    """Split Slack mrkdwn into (visible text, styles) runs: links become `label (url)`, entities decoded."""
    runs: list[Run] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            runs.append((_decode(text[position : match.start()]), styles))
        kind = match.lastgroup or ""
        inner = match.group(kind)
        if kind in ("pre", "code"):
            runs.append((_decode(inner.strip("\n")), styles | {"code"}))
        elif kind == "link":
            runs.extend(_link_runs(inner, styles))
        else:
            runs.extend(mrkdwn_runs(inner, styles | {kind}))
        position = match.end()
    if position < len(text):
        runs.append((_decode(text[position:]), styles))
    return runs


def _decode(text: str) -> str:
    return re.sub(r"&(?:lt|gt|amp);", lambda m: _ENTITIES[m.group(0)], text)


def _link_runs(inner: str, styles: frozenset[str]) -> list[Run]:
    target, _, label = inner.partition("|")
    if target.startswith("!date^"):
        return [(_decode(label or target), styles)]
    if target.startswith(("@", "#")):
        return [(target[0] + _decode(label.lstrip("@#") or target[1:]), styles | {"bold"})]
    if target.startswith("!"):
        name = label or target[1:].split("^")[0]
        return [("@" + _decode(name.lstrip("@")), styles | {"bold"})]
    url = _decode(target)
    if not label or _decode(label) == url:
        return [(url, styles | {"underline"})]
    return [(_decode(label), styles | {"underline"}), (f" ({url})", styles | {"dim"})]


class _Painter:
    def __init__(self, *, width: int, color: bool) -> None:
        self.width = width
        self.color = color

    def paint(self, text: str, styles: Iterable[str]) -> str:
        codes = [_ANSI[style] for style in sorted(set(styles)) if style in _ANSI]
        if not self.color or not codes or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"

    def wrap(self, text: str, *, width: int | None = None, styles: frozenset[str] = frozenset()) -> list[str]:
        return self.wrap_runs(mrkdwn_runs(text, styles), width or self.width)

    def wrap_text(self, obj: Any, *, width: int | None = None, styles: frozenset[str] = frozenset()) -> list[str]:
        if isinstance(obj, dict) and obj.get("type") == "plain_text":
            return self.wrap_runs([(str(obj.get("text", "")), styles)], width or self.width)
        return self.wrap(_text_of(obj), width=width, styles=styles)

    def wrap_runs(self, runs: list[Run], width: int) -> list[str]:
        """Greedy word wrap over styled runs; indentation survives at the start of a source line."""
        lines: list[str] = []
        line: list[Run] = []
        used, space, space_styles = 0, "", frozenset[str]()

        def flush() -> None:
            nonlocal line, used, space
            lines.append(self.paint_line(line))
            line, used, space = [], 0, ""

        for text, styles in runs:
            for piece in re.split(r"(\n)", text.replace("\t", "    ")):
                if piece == "\n":
                    flush()
                    continue
                for word in re.findall(r"\s+|\S+", piece):
                    if word.isspace():
                        space, space_styles = space + word, styles
                        continue
                    if used and used + len(space) + len(word) > width:
                        flush()
                    space = space[: max(0, width - used - 1)]
                    line.append((space, space_styles))
                    used, space = used + len(space), ""
                    while word:
                        if used >= width:
                            flush()
                        chunk, word = word[: width - used], word[width - used :]
                        line.append((chunk, styles))
                        used += len(chunk)
        flush()
        return lines

    def paint_line(self, runs: list[Run]) -> str:
        merged: list[Run] = []
        for text, styles in runs:
            if merged and merged[-1][1] == styles:
                merged[-1] = (merged[-1][0] + text, styles)
            elif text:
                merged.append((text, styles))
        return "".join(self.paint(text, styles) for text, styles in merged)

    def heading(self, text: str, rule: str) -> list[str]:
        lines = self.wrap_runs([(text, frozenset({"bold"}))], self.width)
        return [*lines, rule * min(self.width, max(visible_len(line) for line in lines)), ""]

    def button(self, element: dict[str, Any]) -> str:
        text = element.get("text")
        label = str(text.get("text", "")) if isinstance(text, dict) else "button"
        style = element.get("style")
        return self.paint(f"[ {label} ]", [style] if style in ("primary", "danger") else ["bold"])

    def element(self, element: Any) -> str:
        if not isinstance(element, dict):
            return ""
        kind = element.get("type", "")
        if kind == "button":
            return self.button(element)
        if kind == "image":
            return self.paint(f"[image: {element.get('alt_text', '')}]", ["dim"])
        placeholder = element.get("placeholder")
        chosen = element.get("initial_option")
        label = chosen.get("text") if isinstance(chosen, dict) else placeholder
        text = label.get("text", "") if isinstance(label, dict) else kind.replace("_", " ")
        if kind == "overflow":
            return "[ … ]"
        if kind in ("plain_text_input", "file_input", "number_input", "email_text_input", "url_text_input"):
            if kind == "file_input":
                return self.paint("[ choose files… ]", ["dim"])
            return self.paint(f"[ {text if isinstance(label, dict) else '':_<24} ]", ["dim"])
        return f"[ {text} ▾ ]"

    def block(self, block: dict[str, Any]) -> list[str]:
        kind = block.get("type")
        if kind == "header":
            return self.heading(_text_of(block.get("text")), "═")
        if kind == "divider":
            return [self.paint("─" * self.width, ["dim"])]
        if kind == "section":
            return self.section(block)
        if kind == "context":
            parts = [_text_of(item) for item in _dicts(block.get("elements")) if item.get("type") != "image"]
            return self.wrap("  ·  ".join(part for part in parts if part), styles=frozenset({"dim"}))
        if kind == "actions":
            return [*self.wrap_elements(block.get("elements")), ""]
        if kind == "image":
            return [f"{self.element(block)} {self.paint(str(block.get('image_url', '')), ['dim'])}", ""]
        if kind == "input":
            return self.input(block)
        if kind == "markdown":
            return self.wrap(str(block.get("text", "")))
        if kind == "rich_text":
            return self.wrap(_rich_text(block))
        return [self.paint(f"[{kind} block]", ["dim"])]

    def section(self, block: dict[str, Any]) -> list[str]:
        lines = self.wrap_text(block.get("text")) if "text" in block else []
        fields = _dicts(block.get("fields"))
        column = (self.width - 3) // 2
        for i in range(0, len(fields), 2):
            left = self.wrap_text(fields[i], width=column)
            right = self.wrap_text(fields[i + 1], width=column) if i + 1 < len(fields) else []
            for row in range(max(len(left), len(right))):
                cell = left[row] if row < len(left) else ""
                lines.append(cell + " " * (column - visible_len(cell) + 3) + (right[row] if row < len(right) else ""))
        if isinstance(block.get("accessory"), dict):
            lines.append(self.element(block["accessory"]))
        return [*lines, ""]

    def wrap_elements(self, elements: Any) -> list[str]:
        lines, line = [], ""
        for shown in (self.element(item) for item in _dicts(elements)):
            if line and visible_len(line) + 1 + visible_len(shown) > self.width:
                lines.append(line)
                line = ""
            line = f"{line} {shown}" if line else shown
        return [*lines, line]

    def input(self, block: dict[str, Any]) -> list[str]:
        label = _text_of(block.get("label")) + ("" if not block.get("optional") else " (optional)")
        lines = [self.paint(label, ["bold"]), self.element(block.get("element"))]
        if "hint" in block:
            lines += self.wrap_text(block["hint"], styles=frozenset({"dim"}))
        return [*lines, ""]


def visible_len(line: str) -> int:
    """Width of a line as the terminal shows it, without its ANSI codes."""
    return len(_ANSI_CODE.sub("", line))


def _text_of(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _rich_text(block: dict[str, Any]) -> str:
    pieces: list[str] = []
    for section in _dicts(block.get("elements")):
        pieces.append("".join(str(item.get("text", "")) for item in _dicts(section.get("elements"))))
    return "\n".join(pieces)
