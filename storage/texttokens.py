"""Words as the text index sees them, in every script: space-less scripts become overlapping character pairs.

Chinese, Japanese, Thai and the other scripts written without spaces give a word tokenizer one
token per sentence, so no fragment of a sentence could ever be found. Here a run of such characters
becomes its overlapping pairs (``金来週`` -> ``金来 来週``): two adjacent pairs are a three-character
substring, so a phrase query on pairs finds any fragment, the way CJK bigram indexes do. Hangul is
written with spaces but its words carry particles; pairs let a fragment cut mid-word match too.

The same folding runs on both sides (the indexed answer and the text read from a screenshot or
typed): NFKC (full-width and half-width forms, ligatures), case folding, and diacritics dropped from
scripts that are written with spaces. Marks that are part of a space-less script's spelling (Thai
vowels and tones, Japanese voicing) stay, since PostgreSQL's ``lower(normalize(text, NFKC))``, which
its trigram index is built on, keeps them too.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex

VERSION = 2
"""Bumped when the tokens change; a text index built by another version is rebuilt from the bodies."""

_SPACELESS_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G
)
_SPACELESS_CLASS = "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _SPACELESS_RANGES)
_RUN = regex.compile(f"[{_SPACELESS_CLASS}]+")
_ACCENTS = regex.compile(f"(?<=[^{_SPACELESS_CLASS}\\p{{M}}])\\p{{M}}+")
"""Marks after a letter of a spaced script (accents); marks in a space-less script are spelling and stay."""
_TOKEN = regex.compile(
    f"([{_SPACELESS_CLASS}]+)|((?:(?![{_SPACELESS_CLASS}])[\\p{{L}}\\p{{N}}\\p{{Co}}])"
    f"(?:(?![{_SPACELESS_CLASS}])[\\p{{L}}\\p{{N}}\\p{{Co}}\\p{{M}}])*)"
)
"""A run of a space-less script, or a word of any other (marks joined to the letter before them)."""
_ASCII_WORD = regex.compile(r"[a-z0-9]+")
_WORD = regex.compile(r"[\p{L}\p{N}\p{Co}][\p{L}\p{N}\p{Co}\p{M}]*")
"""A token as FTS5's unicode61 tokenizer is configured here (``categories 'L* N* Co M*'``): marks join the
letter before them, so a Thai vowel sign or a Japanese voicing mark never splits a word."""


@lru_cache(maxsize=4096)
def is_spaceless(char: str) -> bool:
    """Whether a character belongs to a script written without spaces between words (or Hangul)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _SPACELESS_RANGES)


def fold(text: str) -> str:
    """NFKC, case folding, and diacritics off the letters of spaced scripts (``Año`` -> ``ano``)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    return unicodedata.normalize("NFC", _ACCENTS.sub("", decomposed))


def tokens(text: str) -> list[str]:
    """The words of a text exactly as the text index holds them (folded; space-less runs as pairs)."""
    folded = fold(text)
    if folded.isascii():
        return _ASCII_WORD.findall(folded)
    out: list[str] = []
    for run, word in _TOKEN.findall(folded):
        if word:
            out.append(word)
        elif len(run) < 2:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def words(text: str) -> list[str]:
    """The folded words of a text with space-less runs whole: for fuzzy comparison at character level."""
    return _WORD.findall(fold(text))


def index_text(text: str) -> str:
    """What the SQLite text index is given for an answer: plain ASCII as is, anything else as its tokens."""
    if text.isascii():
        return text
    return " ".join(tokens(text))


def has_spaceless(text: str) -> bool:
    return _RUN.search(text) is not None


def pg_folded(column: str) -> str:
    """How PostgreSQL folds an answer for its trigram index: NFKC and lower case, as ``quote_fold`` does."""
    return f"lower(normalize({column}, NFKC))"


def quote_fold(text: str) -> str:
    """A verbatim quote folded the way ``pg_folded`` folds answers (accents kept: a quote has them as stored)."""
    return unicodedata.normalize("NFKC", text).lower()


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(phrase: str) -> str:
    """A LIKE pattern for a phrase of tokens: overlapping pairs merged, other neighbours with anything between."""
    parts: list[str] = []
    for token in phrase.split(" "):
        escaped = like_escape(token)
        if parts and len(token) == 2 and all(is_spaceless(c) for c in token) and parts[-1].endswith(token[0]):
            parts[-1] += escaped[1:]
        else:
            parts.append(escaped)
    return "%" + "%".join(parts) + "%"
