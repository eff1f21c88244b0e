"""Text helpers for matching: words as the text index sees them, phrase choice, and time hints read off a screenshot."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage import texttokens

_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2,4})")
_MONTH_DAY = re.compile(r"([A-Za-z]{3})[a-z]*\.?\s(\d{1,2})(?:st|nd|rd|th)?(?:,?\s(\d{4}))?")
_DAY_MONTH = re.compile(r"(\d{1,2})\s([A-Za-z]{3})[a-z]*\.?(?:\s(\d{4}))?")
_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})(?::\d{2})?\s?([AaPp])?")
_CONFUSABLE_CLASSES = ("0Oo", "1Il")
MAX_ID_VARIANTS = 20_000
"""3^9: an id with nine look-alike characters is still looked up by index, in a few milliseconds."""


def words(text: str) -> list[str]:
    """The words of a text exactly as the text index holds them (folded; space-less scripts as character pairs)."""
    return texttokens.tokens(text)


def normal(text: str) -> str:
    """A text reduced to its folded words, for fuzzy comparison that ignores punctuation and line wraps.

    Space-less scripts stay whole here, so the comparison of a Japanese or Thai answer is by character.
    """
    return " ".join(texttokens.words(text))


def choose_phrases(tokens: list[str], counts: dict[str, int] | None, *, limit: int = 12) -> list[str]:
    """The rarest adjacent-word pairs of what was read: few responses share them, so they find the row fast.

    ``counts`` maps each word to its number of responses; a word no response contains is an OCR error and
    never used. Without counts (PostgreSQL), words with digits and long words count as rare.
    """

    def rarity(word: str) -> tuple[int, int]:
        if counts is not None:
            return (counts.get(word, 0), 0)
        return (0 if any(c.isdigit() for c in word) else 1, -len(word))

    known = [counts is None or counts.get(word, 0) > 0 for word in tokens]
    pairs: dict[str, tuple[tuple[int, int], int]] = {}
    for index in range(len(tokens) - 1):
        if known[index] and known[index + 1]:
            phrase = f"{tokens[index]} {tokens[index + 1]}"
            pairs.setdefault(phrase, (min(rarity(tokens[index]), rarity(tokens[index + 1])), index))
    if not pairs:
        singles = sorted({word for word, ok in zip(tokens, known, strict=True) if ok}, key=rarity)
        return singles[:limit]
    ranked = sorted(pairs.items(), key=lambda item: (item[1][0], item[1][1]))
    return [phrase for phrase, _ in ranked[:limit]]


def spread_phrases(tokens: list[str], counts: dict[str, int] | None, *, count: int = 3) -> list[str]:
    """Word pairs from the start, middle and end of a response: a near-duplicate from the same template has all."""
    usable = [
        f"{a} {b}"
        for a, b in itertools.pairwise(tokens)
        if not any(c.isdigit() for c in a + b) and (counts is None or (counts.get(a, 0) > 0 and counts.get(b, 0) > 0))
    ]
    if len(usable) <= count:
        return usable
    step = (len(usable) - 1) / (count - 1)
    return list(dict.fromkeys(usable[round(i * step)] for i in range(count)))


def id_variants(read_id: str) -> list[str]:
    """Spellings an OCR-read id may stand for (0/O/o and 1/I/l look alike), the read one first."""
    options = []
    for char in read_id:
        group = next((g for g in _CONFUSABLE_CLASSES if char in g), None)
        options.append(group if group else char)
    total = 1
    for group in options:
        total *= len(group)
    if total > MAX_ID_VARIANTS:
        return [read_id]
    variants = ["".join(chars) for chars in itertools.product(*options)]
    return [read_id, *(v for v in variants if v != read_id)]


@dataclass(frozen=True)
class TimeHint:
    """What the screenshot says about when: a day window (time zone unknown) and the minute of the hour."""

    since: datetime | None = None
    until: datetime | None = None
    minute: int | None = None


def _year(raw: str | None, now: datetime) -> int:
    if not raw:
        return now.year
    value = int(raw)
    return value + 2000 if value < 100 else value


def _day(stamp: str, now: datetime) -> datetime | None:
    try:
        if match := _ISO_DATE.search(stamp):
            return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
        if match := _SLASH_DATE.search(stamp):
            return datetime(_year(match[3], now), int(match[1]), int(match[2]), tzinfo=UTC)
        if (match := _MONTH_DAY.search(stamp)) and match[1].lower() in _MONTHS:
            return datetime(_year(match[3], now), _MONTHS[match[1].lower()], int(match[2]), tzinfo=UTC)
        if (match := _DAY_MONTH.search(stamp)) and match[2].lower() in _MONTHS:
            return datetime(_year(match[3], now), _MONTHS[match[2].lower()], int(match[1]), tzinfo=UTC)
    except ValueError:
        return None
    return None


def time_hint(stamps: list[str], now: datetime) -> TimeHint:
    """Read the chat's timestamps into a search window; a day without a year is this year (or last, if ahead)."""
    since = until = None
    minute = None
    for stamp in stamps:
        lowered = stamp.lower()
        day = _day(stamp, now)
        if day is None and lowered.startswith("yesterday"):
            day = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=1)
        elif day is None and lowered.startswith("today"):
            day = datetime(now.year, now.month, now.day, tzinfo=UTC)
        if day is not None and day > now + timedelta(days=1):
            day = day.replace(year=day.year - 1)
        if day is not None and since is None:
            since, until = day - timedelta(days=1), day + timedelta(days=2)
        clock = _CLOCK.search(_ISO_DATE.sub(" ", stamp))
        if clock and minute is None and int(clock[1]) < 24:
            minute = int(clock[2]) if int(clock[2]) < 60 else None
    return TimeHint(since=since, until=until, minute=minute)
