"""Decide whether one LLM answer was a refusal.

Order of rules (the first that speaks decides; `Verdict.rule` records which):

1. ``client_flag``: the client sent ``refused: true/false``; we trust it.
2. ``finish_reason:<value>``: the provider said it filtered or refused (see REFUSAL_FINISH_REASONS).
   Neutral values (``stop``, ``end_turn``, ``length``, ...) say nothing, because several gateways
   report refusals as ``stop``; unknown values are treated as neutral too.
3. ``pattern:<name>``: the text declines. A pattern only counts when it starts a sentence that
   begins within the first OPENING_CHARS characters (optionally after an apologetic lead-in such
   as "Unfortunately," or "I'm sorry, but"), and not inside quotation marks. This is where
   refusals live, including those after a one- or two-sentence preamble; a decline deep inside an
   answer is a caveat, not a refusal.
   ``partial:<name>``: a decline was found, but the rest of the answer still helps substantially
   (at least MIN_HELP_CHARS of other text, the decline sentence at most MAX_DECLINE_SHARE of the
   answer, and more concrete help signals - steps, code, "here's how", "go to" - than offers such
   as "I'd be happy to help with something else"). Counted as not refused.
4. ``none``: nothing fired; not refused.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from bot.refusals.patterns import ANY_CJK, DEFAULT_PATTERNS, LEAD_IN, LEAD_IN_STARTS, NamedPattern

OPENING_CHARS = 360
MIN_HELP_CHARS = 220
MAX_DECLINE_SHARE = 0.35

REFUSAL_FINISH_REASONS: frozenset[str] = frozenset(
    {
        "content_filter",  # OpenAI, Azure OpenAI
        "refusal",  # OpenAI message.refusal via gateways; Anthropic stop_reason
        "safety",  # Gemini
        "recitation",
        "prohibited_content",
        "blocklist",
        "spii",
        "image_safety",
        "content_filtered",  # Bedrock Converse
        "guardrail_intervened",
    }
)

# Sentences end at these; the first word of each (markdown bullets and quotes skipped) picks the patterns.
# str.find per delimiter is several times faster than a regex scan over the opening.
_SPACED_DELIMITERS = ".!?;:"  # end a sentence only when followed by white space ("e.target.value" does not)
_BARE_DELIMITERS = "\n。！？"
_FIRST_WORD = re.compile(r"[\s*_>#]*+(\w*)")
_SCAN_MARGIN = 64  # how far past OPENING_CHARS the sentence scan reads, for the last first word
# Words before a colon that introduce someone else's words ("The customer wrote: I cannot ...").
_REPORTED_SPEECH = re.compile(
    r"(?:said|says|wrote|writes|asked|asks|reported|reports|replied|replies|reads|quoted|error|message"
    r"|customer|user|client|caller|agent)\W{0,3}$"
)
_SENTENCE_END = re.compile(r"[.!?:\n。！？]")
# Signals that the text around a decline still helps (steps, code, directions) or only offers help.
# Counted on the lower-cased text with plain substring counts, which keeps the partial rule cheap.
_HELP_PHRASES = (
    "```", "here's how", "here is how", "here are the", "here's what", "here is what", "here's a ",
    "go to ", "navigate to", "head to ", "click", "select ", "run ", "open ", "for example", "e.g.",
    "to do this", "to do that", "follow these", "generally", "typically", "usually", " > ",
)  # fmt: skip
_OFFER_PHRASES = (
    "i'd be happy to", "i would be happy to", "i'd be glad to", "i would be glad to", "happy to help",
    "i can help you with", "i can help with", "i can assist", "instead", "would you like", "let me know",
    "feel free", "anything else", "if you're looking", "if you are looking", "if you're interested",
    "if you're trying", "please contact", "please reach out", "consult", "i can suggest", "i can offer",
)  # fmt: skip
_LIST_ITEM = re.compile(r"\n[ \t]*(?:\d+[.)]|[-*•])[ \t]")
_YOU_CAN_HOW = re.compile(r"you can (?:\w+ ){0,3}?(?:by|from|under|in|using|via|with)\b")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one answer, with the rule that made it (kept for audits and rate splits)."""

    refused: bool
    rule: str


class RefusalPatterns:
    """A compiled, named set of decline patterns; build once at start-up and share.

    Each sentence is tried only against the patterns that can begin with its first word: sentences
    opening with a lead-in word ("Unfortunately", "I", ...) get the lead-in and every pattern, others
    get the few patterns listing that word in `starts`, most get none. Patterns without `starts`
    (config extras) are tried on every sentence.
    """

    __slots__ = ("_by_word", "_candidates", "_fallback", "names")

    def __init__(self, patterns: tuple[NamedPattern, ...]) -> None:
        names = [p.name for p in patterns]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate refusal pattern names: {sorted(names)}")
        for p in patterns:
            if not p.name.isidentifier():
                raise ValueError(f"refusal pattern name {p.name!r} must be an identifier")
            try:
                re.compile(p.regex, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"refusal pattern {p.name!r} is not a valid regex: {exc}") from exc
        self.names: tuple[str, ...] = tuple(names)
        ungated = tuple(p for p in patterns if not p.starts)
        full = _compile(patterns, lead_in=True)
        compiled: dict[tuple[str, ...], re.Pattern[str]] = {}
        by_word: dict[str, re.Pattern[str]] = {}
        for word in {w for p in patterns for w in p.starts} | set(LEAD_IN_STARTS):
            if word in LEAD_IN_STARTS:
                by_word[word] = full
                continue
            subset = tuple(p for p in patterns if word in p.starts) + ungated
            key = tuple(p.name for p in subset)
            if key not in compiled:
                compiled[key] = _compile(subset, lead_in=False)
            by_word[word] = compiled[key]
        self._by_word = by_word
        self._fallback = _compile(ungated, lead_in=False) if ungated else None
        self._candidates = _candidate_scan(by_word, every_word=self._fallback is not None)

    @classmethod
    def default(cls) -> "RefusalPatterns":
        """Return the maintained pattern set, compiled once per process."""
        return _default_patterns()

    @classmethod
    def from_config(cls, extra: list[str], disable: list[str]) -> "RefusalPatterns":
        """Build the set from config: add regexes (named extra_1, extra_2, ...) and drop defaults by name."""
        known = {p.name for p in DEFAULT_PATTERNS}
        unknown = sorted(set(disable) - known)
        if unknown:
            raise ValueError(f"cannot disable unknown refusal patterns: {unknown}")
        kept = tuple(p for p in DEFAULT_PATTERNS if p.name not in set(disable))
        added = tuple(NamedPattern(f"extra_{i}", regex) for i, regex in enumerate(extra, start=1))
        return cls(kept + added)

    def find_decline(self, text: str) -> re.Match[str] | None:
        """Return the first decline that opens a sentence in the opening of `text`, outside quotes.

        The match is made on a lower-cased copy of the opening; its positions are valid in `text`.
        Sentences come from one C-level scan that only stops where a sentence begins with a word
        some pattern can start with, so the usual answer is decided without a Python-level loop over
        its sentences (the same starts as `_sentence_starts`, as a test checks).
        """
        low = _lower_opening(text)
        head = _FIRST_WORD.match(low)  # the first sentence starts at 0; always matches
        regex = self._regex_for(head.group(1))
        if regex is not None:
            match = regex.match(low, head.start(1))
            if match is not None and not _inside_quotes(low, match.start()):
                return match
        # Resuming after the first word skips later starts that lead to it ("\n\nI ..."), and
        # finditer's matches do not overlap, so each first word is tried once, from its earliest start.
        # The scan stops a little past the opening; a first word it cut short is read again whole.
        window = min(len(low), OPENING_CHARS + _SCAN_MARGIN)
        for found in self._candidates.finditer(low, head.end(), window):
            delimiter = found.start()
            if delimiter >= OPENING_CHARS:
                break
            if low[delimiter] == ":" and _reports_speech(low, delimiter):
                continue
            word = found
            if found.end() == window < len(low):
                word = _FIRST_WORD.match(low, delimiter + 1)
            regex = self._regex_for(word.group(1))
            if regex is None:
                continue
            match = regex.match(low, word.start(1))
            if match is not None and not _inside_quotes(low, match.start()):
                return match
        return None

    def _regex_for(self, word: str) -> re.Pattern[str] | None:
        regex = self._by_word.get(word)
        if regex is None and word[:1] >= "\u2e80":
            regex = self._by_word.get(ANY_CJK)
        return regex or self._fallback


def _candidate_scan(by_word: dict[str, re.Pattern[str]], *, every_word: bool) -> re.Pattern[str]:
    # A sentence delimiter (spaced ones only before white space or the end), the markdown and white
    # space `_FIRST_WORD` skips, then a first word that has patterns: group 1. Alternatives that each
    # open with one literal let the engine jump from delimiter to delimiter in C, and the words are
    # factored by prefix so a sentence is rejected after its first letters. Group 1 also matches
    # whatever word reaches the end of the scanned window, which `find_decline` then reads whole.
    if every_word:
        word = r"\w*"
    else:
        alternatives = [r"\w*+\Z"]
        words = [w for w in by_word if w != ANY_CJK]
        if words:
            alternatives.append(rf"{_alternation(words)}(?!\w)")
        if ANY_CJK in by_word:
            alternatives.append("(?=[\u2e80-\U0010ffff])\\w+")
        word = "|".join(alternatives)
    delimiters = [rf"{re.escape(d)}(?=[ \t\r\n]|\Z)" for d in _SPACED_DELIMITERS]
    delimiters += [re.escape(d) for d in _BARE_DELIMITERS]
    return re.compile(rf"(?:{'|'.join(delimiters)})[\s*_>#]*+({word})")


def _alternation(words: Iterable[str]) -> str:
    # A regex for exactly these words, factored by common prefixes ("i(?:t|ch)?"), so the engine
    # branches on each letter instead of trying every word in turn.
    tails: dict[str, list[str]] = {}
    whole = False
    for w in words:
        if w:
            tails.setdefault(w[0], []).append(w[1:])
        else:
            whole = True
    alternatives = [re.escape(first) + _alternation(rest) for first, rest in sorted(tails.items())]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
    return f"(?:{body})?" if whole else body


def _compile(patterns: tuple[NamedPattern, ...], *, lead_in: bool) -> re.Pattern[str]:
    # Matched against lower-cased text without IGNORECASE, which is about twice as fast; the default
    # patterns are written in lower case, config extras (no `starts`) keep their own case rules.
    alternatives = "|".join(
        f"(?P<{p.name}>{p.regex})" if p.starts else f"(?P<{p.name}>(?i:{p.regex}))" for p in patterns
    )
    return re.compile(f"{LEAD_IN if lead_in else ''}(?:{alternatives or '(?!)'})")


def _lower_opening(text: str) -> str:
    # U+0130 is the only character whose lower case is longer than itself; keep positions aligned.
    opening = text[: OPENING_CHARS + 400]
    return opening.replace("\u0130", "I").lower() if "\u0130" in opening else opening.lower()


def _sentence_starts(low: str) -> list[int]:
    # The rule's own definition of where sentences start, one position at a time; `find_decline`
    # scans for the same starts in one regex pass, and a test holds the two together.
    end = min(len(low), OPENING_CHARS)
    starts = [0]
    for delimiter in _SPACED_DELIMITERS:
        i = low.find(delimiter, 0, end)
        while i != -1:
            if low[i + 1 : i + 2] in " \t\r\n":  # also true at the very end
                starts.append(i + 1)
            i = low.find(delimiter, i + 1, end)
    for delimiter in _BARE_DELIMITERS:
        i = low.find(delimiter, 0, end)
        while i != -1:
            starts.append(i + 1)
            i = low.find(delimiter, i + 1, end)
    starts.sort()
    return starts


def _reports_speech(low: str, colon: int) -> bool:
    return _REPORTED_SPEECH.search(low, max(0, colon - 24), colon) is not None


@cache
def _default_patterns() -> RefusalPatterns:
    return RefusalPatterns(DEFAULT_PATTERNS)


def _inside_quotes(text: str, pos: int) -> bool:
    head = text[:pos]
    return head.count('"') % 2 == 1 or head.count("“") > head.count("”")


def _helps_anyway(text: str, match: re.Match[str]) -> bool:
    end = _SENTENCE_END.search(text, match.end())
    sentence_end = end.end() if end else len(text)
    decline_len = sentence_end - match.start()
    if len(text) - decline_len < MIN_HELP_CHARS or decline_len > MAX_DECLINE_SHARE * len(text):
        return False
    other = f"{text[: match.start()]} {text[match.end() :]}".lower().replace("’", "'")
    helps = sum(other.count(p) for p in _HELP_PHRASES)
    helps += len(_LIST_ITEM.findall(other)) + len(_YOU_CAN_HOW.findall(other))
    offers = sum(other.count(p) for p in _OFFER_PHRASES)
    return helps >= 2 and helps > offers


def normalize_finish_reason(finish_reason: str) -> str:
    """Map provider spellings (``SAFETY``, ``FinishReason.SAFETY``, ``FINISH_REASON_SAFETY``) to one key."""
    key = finish_reason.strip().lower().rsplit(".", 1)[-1]
    return key.removeprefix("finish_reason_")


@lru_cache(maxsize=1024)
def _finish_reason_verdict(finish_reason: str) -> Verdict | None:
    # Cached: a deployment sends a handful of distinct values, and every event carries one.
    key = normalize_finish_reason(finish_reason)
    return Verdict(refused=True, rule=f"finish_reason:{key}") if key in REFUSAL_FINISH_REASONS else None


# Verdicts are immutable; the common ones are shared instead of built per answer.
_CLIENT_FLAG = {False: Verdict(refused=False, rule="client_flag"), True: Verdict(refused=True, rule="client_flag")}
_NOTHING = Verdict(refused=False, rule="none")


def classify(
    *,
    refused: bool | None,
    finish_reason: str | None,
    text: str | None,
    patterns: RefusalPatterns | None = None,
) -> Verdict:
    """Decide at ingest whether an answer was a refusal, so refusal rates can be tracked per category."""
    if refused is not None:
        return _CLIENT_FLAG[bool(refused)]
    if finish_reason:
        filtered = _finish_reason_verdict(finish_reason)
        if filtered is not None:
            return filtered
    if not text:
        return _NOTHING
    match = (patterns or _default_patterns()).find_decline(text)
    if match is None:
        return _NOTHING
    name = match.lastgroup or "unknown"
    if _helps_anyway(text, match):
        return Verdict(refused=False, rule=f"partial:{name}")
    return Verdict(refused=True, rule=f"pattern:{name}")
