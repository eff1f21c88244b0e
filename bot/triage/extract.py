import re
import statistics
from dataclasses import dataclass, field

from bot.triage.ocr import OcrLine

DEFAULT_ID_PATTERNS: list[str] = [
    r"req_[0-9A-Za-z]{8,40}",
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    r"chatcmpl-[0-9A-Za-z]{8,}",
    r"msg_[0-9A-Za-z]{8,}",
]

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_TIME = r"(?:[01]?\d|2[0-3])(?::[0-5]\d(?::[0-5]\d)?\s?(?:[AaPp]\.?\s?[Mm]\b\.?)?|\.[0-5]\d\s?[AaPp]\.?\s?[Mm]\b\.?)"
_TIMESTAMP = re.compile(
    r"(?<![\d:.])(?:"
    rf"\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}})?(?:\.\d+)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}(?:,?\s{_TIME})?"
    rf"|{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s\d{{4}})?(?:,?\s(?:at\s)?{_TIME})?"
    rf"|\d{{1,2}}\s{_MONTH}(?:\s\d{{4}})?(?:,?\s(?:at\s)?{_TIME})?"
    rf"|(?:(?:Today|Yesterday)(?:,|\sat)?\s)?{_TIME}"
    r")(?![\w:])"
)
_RELATIVE = re.compile(
    r"^(?:today|yesterday|just now|now|\d+\s?(?:s|sec|secs|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)\sago)$",
    re.IGNORECASE,
)
_ID_LABEL = re.compile(r"\b(?:request|req|trace|message|msg|response|conversation|chat)?\s?id\b\s?[:#]?", re.I)
_ID_FOOTER = re.compile(r"^\s*(?:request|req|trace|message|msg|response)[\s_-]?id\s?[:#]", re.I)
_SENTENCE_END = re.compile(r"[.!?:;,]$")
_SEPARATORS = re.compile(r"\s+[·•|—–-]\s+|\s*[·•|]\s*")
_CHROME_WORDS = {
    "copy", "copied", "regenerate", "retry", "share", "edit", "like", "dislike", "report", "more",
    "new", "chat", "send", "stop", "helpful", "not", "close", "minimize", "menu", "options", "x", "×",
    "read", "aloud", "feedback", "good", "bad", "response", "code", "try", "again", "thumbs", "up", "down",
    "was", "this", "?", "·", "•", "|", "...", "…",
}  # fmt: skip
_CHROME_PREFIXES = (
    "send a message", "type a message", "type your message", "write a message", "write your message",
    "ask anything", "ask a question", "ask me anything", "message ", "reply to", "powered by",
    "how can i help", "enter a message", "was this helpful", "is this helpful", "did this answer",
)  # fmt: skip
_CHROME_CONTAINS = ("can make mistakes", "ai-generated", "ai generated", "check important info")
_GENERIC_NAMES = {"you", "me", "user", "assistant", "ai", "bot", "chatbot", "support", "agent"}
_USER_MARKERS = {"you", "me", "user"}
_NAME_CONNECTORS = {"of", "for", "the", "and", "&", "by", "de"}
_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})


@dataclass(frozen=True)
class ScreenshotText:
    """What a screenshot of an AI conversation says, split into the parts matching needs."""

    answer: str
    question: str | None
    request_ids: list[str] = field(default_factory=list)
    timestamps: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    raw_text: str = ""


@dataclass
class _Row:
    lines: list[OcrLine]
    kind: str = "content"
    role: str = "assistant"
    name: str | None = None

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)

    @property
    def x0(self) -> int:
        return min(line.box[0] for line in self.lines)

    @property
    def x1(self) -> int:
        return max(line.box[2] for line in self.lines)

    @property
    def y0(self) -> int:
        return min(line.box[1] for line in self.lines)

    @property
    def y1(self) -> int:
        return max(line.box[3] for line in self.lines)


def fold_confusables(request_id: str) -> str:
    """Key for comparing ids read by OCR with logged ids: O/0 and I/l/1 collapse to one symbol."""
    return request_id.translate(_CONFUSABLE)


def _group_rows(lines: list[OcrLine]) -> list[_Row]:
    rows: list[_Row] = []
    for line in sorted(lines, key=lambda item: (item.box[1] + item.box[3]) / 2):
        centre = (line.box[1] + line.box[3]) / 2
        if rows and rows[-1].y0 <= centre <= rows[-1].y1:
            rows[-1].lines.append(line)
        else:
            rows.append(_Row([line]))
    for row in rows:
        row.lines.sort(key=lambda item: item.box[0])
    return rows


def _repair_ids(text: str) -> str:
    """Undo what OCR does to id prefixes and UUIDs: lost underscores, 1 for l, O for 0 in hex."""
    text = re.sub(r"\b(req|msg)(?:\s?[-_.~,]\s?|\s)(?=[0-9A-Za-z]*\d[0-9A-Za-z]*\b)(?=[0-9A-Za-z]{8})", r"\1_", text)
    text = re.sub(r"\b(req|msg)(?=[0-9A-Za-z]*\d)(?=[0-9A-Za-z]{8,40}\b)", r"\1_", text)
    text = re.sub(r"\bchat\s?cmp[l1I|]\s?[-–—_.~]?\s?(?=[0-9A-Za-z]{8})", "chatcmpl-", text)

    def fix_uuid(match: re.Match[str]) -> str:
        candidate = re.sub(r"\s", "", match.group(0)).replace("–", "-").replace("—", "-")
        folded = candidate.translate(_CONFUSABLE).lower()
        return folded if re.fullmatch(r"[0-9a-f-]{36}", folded) else match.group(0)

    group = r"[0-9a-fA-FOoIl|]"
    dash = r"\s?[-–—]\s?"
    uuid = rf"(?<![0-9A-Za-z]){group}{{8}}{dash}{group}{{4}}{dash}{group}{{4}}{dash}{group}{{4}}{dash}{group}{{12}}"
    return re.sub(uuid + r"(?![0-9A-Za-z])", fix_uuid, text)


def _find_ids(texts: list[str], patterns: list[str]) -> list[str]:
    found: list[str] = []
    compiled = [re.compile(rf"(?<![0-9A-Za-z_-])(?:{pattern})(?![0-9A-Za-z])") for pattern in patterns]
    for text in texts:
        repaired = _repair_ids(text)
        for pattern in compiled:
            for match in pattern.finditer(repaired):
                if match.group(0) not in found:
                    found.append(match.group(0))
    return found


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s?·•|…×-]", " ", text.lower())).strip()


def _is_chrome(text: str) -> bool:
    normal = _normal(text)
    if not normal:
        return True
    if any(part in normal for part in _CHROME_CONTAINS):
        return True
    if len(normal.split()) <= 6 and normal.startswith(_CHROME_PREFIXES):
        return True
    if _SENTENCE_END.search(text.strip()) and not text.strip().endswith("..."):
        return False
    return all(word in _CHROME_WORDS for word in normal.split()) or _segments_into_chrome(normal)


def _segments_into_chrome(normal: str) -> bool:
    """Button labels split or glued by OCR ("Regener ate", "CopyRegenerate") are still only buttons."""
    letters = re.sub(r"[^a-z]", "", normal)
    words = [word for word in _CHROME_WORDS if len(word) >= 3 and word.isalpha()]
    reachable = [True] + [False] * len(letters)
    for end in range(1, len(letters) + 1):
        reachable[end] = any(
            len(word) <= end and reachable[end - len(word)] and letters.endswith(word, 0, end) for word in words
        )
    return len(letters) >= 4 and reachable[-1]


def _residue(row: _Row, ids: list[str], patterns: list[str]) -> str:
    """What is left of a row once ids, id labels, timestamps, chrome and avatar initials are gone."""
    lines = [line for line in row.lines if not _is_chrome(line.text)]
    if len(lines) > 1 and len(lines[0].text.strip()) <= 2:
        lines = lines[1:]
    text = _repair_ids(" ".join(line.text for line in lines))
    for pattern in [*patterns, *map(re.escape, ids)]:
        text = re.sub(pattern, " ", text)
    text = _TIMESTAMP.sub(" ", text)
    text = _ID_LABEL.sub(" ", text) if len(text.split()) <= 4 else text
    text = re.sub(r"\s+", " ", _SEPARATORS.sub(" · ", text)).strip(" ·•|-—–:")
    return "" if _is_chrome(text) or _RELATIVE.match(text) else text


def _is_label(text: str) -> bool:
    """A product, tenant or sender name: a few capitalised words, no digits, not a sentence."""
    words = [word for word in text.split() if word not in "·•|—–-"]
    if not 0 < len(words) <= 5 or _SENTENCE_END.search(text) or any(c.isdigit() for c in text):
        return False
    return all(word[0].isupper() or word.lower() in _NAME_CONNECTORS for word in words)


def _classify(rows: list[_Row], ids: list[str], patterns: list[str]) -> None:
    heights = [row.y1 - row.y0 for row in rows]
    median_h = statistics.median(heights) if heights else 0
    for index, row in enumerate(rows):
        residue = _residue(row, ids, patterns)
        raw = row.text
        has_time = bool(_TIMESTAMP.search(raw)) or bool(_RELATIVE.match(_normal(raw)))
        if not residue or _ID_FOOTER.match(raw):
            row.kind = "chrome"
        elif residue.lower() in _USER_MARKERS:
            row.kind, row.role = "sender", "user"
        elif has_time and _is_label(residue):
            row.kind, row.name = "sender", residue
        elif index == 0 and _is_label(residue) and len(rows) > 1:
            gap = rows[1].y0 - row.y1
            if gap >= 1.5 * max(median_h, 1):
                row.kind, row.name = "header", residue
        if row.kind == "content" and residue != raw.strip():
            row.lines = [line for line in row.lines if not _is_chrome(line.text)] or row.lines


def _assign_roles(rows: list[_Row]) -> None:
    content = [row for row in rows if row.kind == "content"]
    if not content:
        return
    left = min(row.x0 for row in content)
    right = max(row.x1 for row in content)
    span = max(right - left, 1)
    runs: list[list[_Row]] = []
    for row in content:
        if runs and abs(runs[-1][-1].x0 - row.x0) <= 0.03 * span and _adjacent(runs[-1][-1], row, rows):
            runs[-1].append(row)
        else:
            runs.append([row])
    aligned_user = False
    for run in runs:
        indent = (run[0].x0 - left) / span
        reaches_right = (right - max(row.x1 for row in run)) / span <= 0.06
        if indent >= 0.12 and reaches_right:
            aligned_user = True
            for row in run:
                row.role = "user"
    if aligned_user:
        return
    role = "assistant"
    for row in rows:
        if row.kind == "sender":
            role = row.role if row.role == "user" else "assistant"
        elif row.kind == "content":
            row.role = role


def _adjacent(previous: _Row, row: _Row, rows: list[_Row]) -> bool:
    start, end = rows.index(previous), rows.index(row)
    return all(between.kind == "content" for between in rows[start + 1 : end])


def _join(block: list[_Row]) -> str:
    heights = [row.y1 - row.y0 for row in block]
    paragraph_gap = 0.5 * statistics.median(heights)
    text = ""
    for index, row in enumerate(block):
        piece = row.text.strip()
        if index == 0:
            text = piece
        elif row.y0 - block[index - 1].y1 > paragraph_gap:
            text += "\n" + piece
        elif text.endswith("-") and piece[:1].islower():
            text += piece
        else:
            text += " " + piece
    return text


def _blocks(rows: list[_Row]) -> list[tuple[str, list[_Row]]]:
    blocks: list[tuple[str, list[_Row]]] = []
    for row in rows:
        if row.kind != "content":
            if row.kind == "sender" and blocks and blocks[-1][1]:
                blocks.append((row.role, []))
            continue
        if blocks and blocks[-1][0] == row.role:
            blocks[-1][1].append(row)
        else:
            blocks.append((row.role, [row]))
    return [(role, block) for role, block in blocks if block]


def _names(rows: list[_Row]) -> list[str]:
    names: list[str] = []
    for row in rows:
        if row.name is None:
            continue
        for part in re.split(r"\s·\s", row.name):
            part = part.strip()
            if part and part.lower() not in _GENERIC_NAMES and part.lower() not in (n.lower() for n in names):
                names.append(part)
    return names


def _timestamps(rows: list[_Row]) -> list[str]:
    """Times the chat UI shows (sender rows, footers, separators), not times mentioned inside messages."""
    found: list[str] = []
    for row in rows:
        if row.kind == "content":
            continue
        stamps = [match.group(0).strip() for match in _TIMESTAMP.finditer(row.text)]
        if not stamps and _RELATIVE.match(_normal(row.text)):
            stamps = [row.text.strip()]
        found.extend(stamp for stamp in stamps if stamp not in found)
    return found


def extract(lines: list[OcrLine], *, id_patterns: list[str] = DEFAULT_ID_PATTERNS) -> ScreenshotText:
    """Turn OCR lines from a chat screenshot into the answer, question and ids that matching needs."""
    rows = _group_rows([line for line in lines if line.text.strip()])
    raw_text = "\n".join(row.text for row in rows)
    ids = _find_ids([row.text for row in rows], id_patterns)
    _classify(rows, ids, id_patterns)
    _assign_roles(rows)
    blocks = _blocks(rows)
    answer_index = max((i for i, (role, _) in enumerate(blocks) if role == "assistant"), default=None)
    answer = _join(blocks[answer_index][1]) if answer_index is not None else ""
    before = blocks[:answer_index] if answer_index is not None else blocks
    questions = [block for role, block in before if role == "user"]
    question = _join(questions[-1]) if questions else None
    return ScreenshotText(
        answer=answer,
        question=question,
        request_ids=ids,
        timestamps=_timestamps(rows),
        names=_names(rows),
        raw_text=raw_text,
    )
