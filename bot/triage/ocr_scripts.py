"""Lines the bundled recogniser cannot read (Korean, Thai, Arabic), read by Tesseract with Debian's language data.

RapidOCR's bundled recogniser reads Latin scripts, Chinese and Japanese; its models for Korean, Thai
and Arabic are downloads, which a server here must never make at request time. Tesseract's language
data for those three are Debian packages (``tesseract-ocr-kor``, ``-tha``, ``-ara``), installed with the
service. RapidOCR still finds every line: the ones it detects but reads with no confidence are the
lines in another script. Their crops are stacked into one strip, the script is told from the widest
line, and one Tesseract run reads the strip, so an English screenshot costs nothing more.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import regex
from PIL import Image

from bot.triage.scripts import script_of

log = logging.getLogger(__name__)

TESSERACT_LANGUAGES = {"hangul": "kor", "thai": "tha", "arabic": "ara"}
"""Script -> Tesseract language data, each with Latin letters and digits for the ids and amounts inside."""
IDENTIFY = "+".join(TESSERACT_LANGUAGES.values())
MIN_UNREAD_WIDTH = 60
"""Pixels: narrower unread boxes are icons and avatars, not text in another script."""
GAP = 12
_THAI_GAP = regex.compile(r"(?<=\p{Thai}) +(?=\p{Thai})")
"""Tesseract spaces Thai letter by letter; Thai writes words together, so the spaces between letters go."""
_HANGUL_WORD = regex.compile(r"\p{Hangul}+")


def _join_lone_syllables(text: str) -> str:
    """Tesseract cuts Korean words into syllables ("카 드 로", "승 인"): runs of lone syllables join up again.

    A lone syllable joins the one before it when that one was lone too, so "카 드 로" reads "카드로",
    while a particle after a number ("834367 의") or a word ("좌석은 월") stays where it stands.
    """
    out: list[str] = []
    chain = False
    for part in text.split(" "):
        lone = len(part) == 1 and _HANGUL_WORD.fullmatch(part) is not None
        if lone and chain:
            out[-1] += part
            continue
        out.append(part)
        chain = lone
    return " ".join(out)


@dataclass(frozen=True, slots=True)
class Unread:
    """A line RapidOCR detected but could not read: its box in the screenshot's pixels."""

    box: tuple[int, int, int, int]


def available() -> set[str]:
    """The scripts this server can read with Tesseract (its binary and language data installed)."""
    try:
        import pytesseract

        installed = set(pytesseract.get_languages(config=""))
    except Exception as exc:  # the binary missing raises its own error type, or OSError
        log.info("tesseract unavailable: %s", exc)
        return set()
    return {script for script, language in TESSERACT_LANGUAGES.items() if language in installed}


def _strip(image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> tuple[Image.Image, list[tuple[int, int]]]:
    """The line crops one under another on white, with each crop's vertical span in the strip."""
    crops = [image.crop(box) for box in boxes]
    width = max(crop.width for crop in crops) + 2 * GAP
    height = sum(crop.height + GAP for crop in crops) + GAP
    strip = Image.new("RGB", (width, height), (255, 255, 255))
    spans: list[tuple[int, int]] = []
    y = GAP
    for crop in crops:
        strip.paste(crop.convert("RGB"), (GAP, y))
        spans.append((y, y + crop.height))
        y += crop.height + GAP
    return strip, spans


def _tesseract_lines(strip: Image.Image, language: str) -> list[tuple[str, int, float]]:
    """(text, centre y, confidence 0-1) per line Tesseract reads in the strip."""
    import pytesseract

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    data = pytesseract.image_to_data(
        strip, lang=language, config="--psm 6", output_type=pytesseract.Output.DICT, timeout=20
    )
    lines: dict[tuple[int, int, int], list[int]] = {}
    for index, word in enumerate(data["text"]):
        if str(word).strip():
            key = (data["block_num"][index], data["par_num"][index], data["line_num"][index])
            lines.setdefault(key, []).append(index)
    out = []
    for indexes in lines.values():
        text = " ".join(str(data["text"][i]).strip() for i in indexes)
        top = min(int(data["top"][i]) for i in indexes)
        bottom = max(int(data["top"][i]) + int(data["height"][i]) for i in indexes)
        confidences = [float(data["conf"][i]) for i in indexes if float(data["conf"][i]) >= 0]
        score = sum(confidences) / len(confidences) / 100 if confidences else 0.0
        out.append((text, (top + bottom) // 2, score))
    return out


def identify(image: Image.Image, unread: list[Unread]) -> str | None:
    """The script of the unread lines, told from the widest one read with every language at once."""
    widest = max(unread, key=lambda u: u.box[2] - u.box[0])
    strip, _ = _strip(image, [widest.box])
    text = " ".join(text for text, _, _ in _tesseract_lines(strip, IDENTIFY))
    script = script_of(text)
    return script if script in TESSERACT_LANGUAGES else None


def read_unread(image: Image.Image, unread: list[Unread], scripts: set[str]) -> list[tuple[str, tuple, float]]:
    """(text, box, score) for each unread line, read in its script; nothing when the script is not installed."""
    unread = [u for u in unread if u.box[2] - u.box[0] >= MIN_UNREAD_WIDTH]
    if not unread or not scripts:
        return []
    script = identify(image, unread)
    if script is None or script not in scripts:
        return []
    ordered = sorted(unread, key=lambda u: (u.box[1], u.box[0]))
    strip, spans = _strip(image, [u.box for u in ordered])
    found: list[tuple[str, tuple, float]] = []
    for text, centre, score in _tesseract_lines(strip, TESSERACT_LANGUAGES[script]):
        if script == "thai":
            text = _THAI_GAP.sub("", text)
        elif script == "hangul":
            text = _join_lone_syllables(text)
        for line, (top, bottom) in zip(ordered, spans, strict=True):
            if top - GAP // 2 <= centre <= bottom + GAP // 2:
                found.append((text, line.box, score))
                break
    return found
