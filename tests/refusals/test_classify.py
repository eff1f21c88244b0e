import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.refusals import classify as classify_module
from bot.refusals.classify import OPENING_CHARS, RefusalPatterns, Verdict, classify
from bot.refusals.patterns import DEFAULT_PATTERNS

DATA = Path(__file__).parent / "data" / "labelled_answers.jsonl"


def load_rows() -> list[dict]:
    with DATA.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ROWS = load_rows()


def text_only(text: str, patterns: RefusalPatterns | None = None) -> Verdict:
    return classify(refused=None, finish_reason="stop", text=text, patterns=patterns)


def precision_recall(rows: list[dict]) -> tuple[float, float, list[str]]:
    tp = fp = fn = 0
    mistakes = []
    for row in rows:
        verdict = text_only(row["text"])
        if verdict.refused and row["refused"]:
            tp += 1
        elif verdict.refused:
            fp += 1
            mistakes.append(f"FP {verdict.rule}: {row['note']}")
        elif row["refused"]:
            fn += 1
            mistakes.append(f"FN {verdict.rule}: {row['note']}")
    return tp / (tp + fp), tp / (tp + fn), mistakes


# --- the labelled set ---------------------------------------------------------------------------


def test_labelled_set_is_big_and_varied_enough() -> None:
    assert len(ROWS) >= 240
    assert sum(r["refused"] for r in ROWS) >= 80
    hard = [r for r in ROWS if not r["refused"] and r["note"].startswith("hard:")]
    assert len(hard) >= 40
    assert all(isinstance(r["text"], str) and r["text"] and isinstance(r["refused"], bool) for r in ROWS)
    assert {r["split"] for r in ROWS} == {"dev", "holdout"}
    assert sum(r["split"] == "holdout" for r in ROWS) >= 0.25 * len(ROWS)
    assert len({r["text"] for r in ROWS}) == len(ROWS)


def test_precision_and_recall_on_whole_labelled_set() -> None:
    precision, recall, mistakes = precision_recall(ROWS)
    print(f"\nall {len(ROWS)} answers: precision={precision:.3f} recall={recall:.3f}")
    print("\n".join(mistakes))
    assert precision >= 0.95
    assert recall >= 0.95


def test_precision_and_recall_on_held_out_part() -> None:
    # Written after the patterns were frozen; never used to tune them. The floor below is a regression
    # guard set after the first measurement (precision 1.000, recall 0.923), not a tuned target.
    holdout = [r for r in ROWS if r["split"] == "holdout"]
    precision, recall, mistakes = precision_recall(holdout)
    print(f"\nheld-out {len(holdout)} answers: precision={precision:.3f} recall={recall:.3f}")
    print("\n".join(mistakes))
    assert precision >= 0.90
    assert recall >= 0.90


# --- rule order: client flag, finish_reason, text ----------------------------------------------

REFUSAL_TEXT = "I'm sorry, but I can't help with that."
HELPFUL_TEXT = "To change your plan, go to Billing > Plan and pick the new one."


@pytest.mark.parametrize(
    ("finish_reason", "key"),
    [
        ("content_filter", "content_filter"),  # OpenAI, Azure
        ("refusal", "refusal"),  # Anthropic stop_reason, gateways for OpenAI message.refusal
        ("SAFETY", "safety"),  # Gemini
        ("RECITATION", "recitation"),
        ("PROHIBITED_CONTENT", "prohibited_content"),
        ("BLOCKLIST", "blocklist"),
        ("SPII", "spii"),
        ("content_filtered", "content_filtered"),  # Bedrock
        ("guardrail_intervened", "guardrail_intervened"),
        ("Content_Filter", "content_filter"),
        ("FinishReason.SAFETY", "safety"),
        ("FINISH_REASON_SAFETY", "safety"),
        (" safety ", "safety"),
    ],
)
def test_refusal_finish_reasons_decide_even_over_helpful_text(finish_reason: str, key: str) -> None:
    verdict = classify(refused=None, finish_reason=finish_reason, text=HELPFUL_TEXT)
    assert verdict == Verdict(refused=True, rule=f"finish_reason:{key}")


@pytest.mark.parametrize(
    "finish_reason",
    ["stop", "STOP", "end_turn", "length", "max_tokens", "tool_calls", "tool_use", "", None, "something_new"],
)
def test_neutral_finish_reasons_fall_through_to_the_text(finish_reason: str | None) -> None:
    assert classify(refused=None, finish_reason=finish_reason, text=REFUSAL_TEXT) == Verdict(
        refused=True, rule="pattern:cannot_help"
    )
    assert classify(refused=None, finish_reason=finish_reason, text=HELPFUL_TEXT) == Verdict(refused=False, rule="none")


def test_client_flag_wins_over_finish_reason_and_text() -> None:
    assert classify(refused=False, finish_reason="content_filter", text=REFUSAL_TEXT) == Verdict(
        refused=False, rule="client_flag"
    )
    assert classify(refused=True, finish_reason="stop", text=HELPFUL_TEXT) == Verdict(refused=True, rule="client_flag")


def test_finish_reason_wins_over_text() -> None:
    verdict = classify(refused=None, finish_reason="SAFETY", text=REFUSAL_TEXT)
    assert verdict.rule == "finish_reason:safety"


@pytest.mark.parametrize("text", [None, ""])
def test_no_text_and_no_signal_is_not_a_refusal(text: str | None) -> None:
    assert classify(refused=None, finish_reason=None, text=text) == Verdict(refused=False, rule="none")


# --- which rule decided -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can't assist with that request.", Verdict(True, "pattern:cannot_help")),
        ("I am unable to provide that information.", Verdict(True, "pattern:cannot_help")),
        ("As an AI, I cannot access your bank account.", Verdict(True, "pattern:as_an_ai")),
        ("This request violates our usage policy.", Verdict(True, "pattern:policy_violation")),
        ("I won't be able to help with that.", Verdict(True, "pattern:cannot_help")),
        ("I must decline this request.", Verdict(True, "pattern:must_decline")),
        ("That's outside the scope of what I can do here.", Verdict(True, "pattern:out_of_scope")),
        ("Je suis désolé, mais je ne peux pas vous aider.", Verdict(True, "pattern:lang_fr")),
        ("抱歉，我无法帮助你完成这个请求。", Verdict(True, "pattern:lang_zh")),
        ("Sorry for the wait! Here's the summary you asked for.", Verdict(False, "none")),
    ],
)
def test_rule_names_the_pattern_that_decided(text: str, expected: Verdict) -> None:
    assert text_only(text) == expected


def test_partial_refusal_that_still_helps_records_partial_rule() -> None:
    text = (
        "I can't look up your account directly, but here's how you can check the charge yourself:\n"
        "1. Go to Settings > Billing.\n2. Open the Invoices tab.\n3. Click the invoice to download the PDF.\n"
        "The PDF lists every seat and add-on with its dates, so a prorated charge shows up as a separate line. "
        "If the amount still looks wrong, select it and click Dispute; billing replies within two days."
    )
    assert text_only(text) == Verdict(False, "partial:cannot_help")


def test_short_decline_with_a_pointer_is_still_a_refusal() -> None:
    # Under MIN_HELP_CHARS of other text: a redirect, not substantial help.
    text = "I can't look up your account directly. Please check Settings > Billing or contact support."
    assert text_only(text) == Verdict(True, "pattern:cannot_help")


def test_decline_followed_only_by_offers_is_still_a_refusal() -> None:
    text = (
        "I'm sorry, but I can't write a script that scrapes another company's customer list. "
        "Collecting that data without consent may break the law and our terms. If you're looking to "
        "grow your own list, I'd be happy to help with a signup form instead, or I can suggest other "
        "consent-based approaches. Let me know if you'd like that, or if there's anything else I can do."
    )
    assert text_only(text) == Verdict(True, "pattern:cannot_help")


# --- where a decline counts ---------------------------------------------------------------------


def test_refusal_after_a_short_preamble_counts() -> None:
    text = "Thanks for reaching out! I hope your week is going well. Unfortunately, I can't share that."
    assert text_only(text) == Verdict(True, "pattern:cannot_help")


def test_decline_past_the_opening_is_a_caveat_not_a_refusal() -> None:
    helpful = "To export your data, open Settings > Data > Export and pick a format. " * 6
    assert len(helpful) > OPENING_CHARS
    assert text_only(helpful + "I can't help with exports older than a year.") == Verdict(False, "none")


@pytest.mark.parametrize(
    "text",
    [
        "Users often see \"I'm sorry. I can't help with that.\" when the filter triggers.",
        "The customer wrote: I cannot help my team if the dashboard keeps crashing. Likely cause: cache.",
        "Customer: I can't delete the old project. Agent: the owner has to do it from Settings.",
        "I can't help but notice the timeout is set to 0; set it to 30 seconds instead.",
        "Our refund policy says we cannot refund after 30 days, but here is how to request an exception.",
    ],
)
def test_quoted_or_reported_declines_are_not_refusals(text: str) -> None:
    assert text_only(text).refused is False


def test_positions_stay_aligned_when_lowercasing_changes_length() -> None:
    # "İ" lower-cases to two characters; the opening must keep the same positions as the text.
    text = "İstanbul office hours are 9-17. " + REFUSAL_TEXT
    assert text_only(text) == Verdict(True, "pattern:cannot_help")


# --- configuration ------------------------------------------------------------------------------


def test_default_patterns_are_compiled_once() -> None:
    assert RefusalPatterns.default() is RefusalPatterns.default()
    assert RefusalPatterns.default().names == tuple(p.name for p in DEFAULT_PATTERNS)


def test_config_can_add_patterns_matched_at_sentence_start_case_insensitively() -> None:
    patterns = RefusalPatterns.from_config(extra=[r"computer says no\b"], disable=[])
    assert patterns.names[-1] == "extra_1"
    assert text_only("Computer says NO.", patterns) == Verdict(True, "pattern:extra_1")
    assert text_only("Sadly, computer says no.", patterns) == Verdict(True, "pattern:extra_1")
    assert text_only("Computer says no.") == Verdict(False, "none")
    assert text_only("The computer says no to that.", patterns) == Verdict(False, "none")


def test_config_can_disable_default_patterns_by_name() -> None:
    patterns = RefusalPatterns.from_config(extra=[], disable=["cannot_help", "lang_fr"])
    assert "cannot_help" not in patterns.names
    assert text_only(REFUSAL_TEXT, patterns) == Verdict(False, "none")
    assert text_only("Je ne peux pas vous aider.", patterns) == Verdict(False, "none")
    assert text_only("I must decline this request.", patterns) == Verdict(True, "pattern:must_decline")


def test_config_rejects_unknown_names_and_bad_regexes() -> None:
    with pytest.raises(ValueError, match="cannot_halp"):
        RefusalPatterns.from_config(extra=[], disable=["cannot_halp"])
    with pytest.raises(ValueError, match="extra_2"):
        RefusalPatterns.from_config(extra=["fine", "(unclosed"], disable=[])


def test_config_with_everything_disabled_never_matches() -> None:
    patterns = RefusalPatterns.from_config(extra=[], disable=[p.name for p in DEFAULT_PATTERNS])
    assert text_only(REFUSAL_TEXT, patterns) == Verdict(False, "none")


# --- invariants the fast path relies on ---------------------------------------------------------


def test_default_patterns_are_lower_case() -> None:
    # They run without IGNORECASE against lower-cased text, so an upper-case letter could never match.
    for pattern in DEFAULT_PATTERNS:
        assert not re.search(r"[A-Z]", re.sub(r"\\.", "", pattern.regex)), pattern.name


def test_first_word_dispatch_finds_what_trying_every_pattern_everywhere_finds() -> None:
    # `starts` and LEAD_IN_STARTS are hand-maintained: if they miss a word a pattern can begin with,
    # dispatch silently skips sentences. Compare against the slow way on every labelled answer.
    everything = classify_module._compile(DEFAULT_PATTERNS, lead_in=True)
    patterns = RefusalPatterns.default()
    extra_texts = [
        "As a support assistant for Acme, I can only help with questions about our products.",
        "My apologies, but I can't share that.",
        "While I understand the deadline, I can't approve the exception.",
        "Well, I'm not permitted to discuss it.",
        "Doing that would go against our usage policy.",
    ]
    for text in [r["text"] for r in ROWS] + extra_texts:
        low = classify_module._lower_opening(text)
        slow = None
        for start in classify_module._sentence_starts(low):
            head = classify_module._FIRST_WORD.match(low, start)
            match = everything.match(low, head.start(1))
            if match and not classify_module._inside_quotes(low, match.start()):
                if start and low[start - 1] == ":" and classify_module._reports_speech(low, start - 1):
                    continue
                slow = match
                break
        fast = patterns.find_decline(text)
        assert (fast and (fast.start(), fast.lastgroup)) == (slow and (slow.start(), slow.lastgroup)), text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_any_text_gets_a_verdict_with_a_known_rule_shape(text: str) -> None:
    verdict = text_only(text)
    assert re.fullmatch(r"none|(pattern|partial):[a-z_0-9]+", verdict.rule)
    assert verdict.refused == verdict.rule.startswith("pattern:")


def _decline_sentence_by_sentence(patterns: RefusalPatterns, text: str) -> re.Match[str] | None:
    # The rule as documented, one sentence start at a time: what the single scan in find_decline
    # (which only stops at sentences whose first word has patterns) must agree with.
    low = classify_module._lower_opening(text)
    tried = -1
    for start in classify_module._sentence_starts(low):
        head = classify_module._FIRST_WORD.match(low, start)
        if head.start(1) == tried:
            continue
        tried = head.start(1)
        regex = patterns._regex_for(head.group(1))
        if regex is None or (start and low[start - 1] == ":" and classify_module._reports_speech(low, start - 1)):
            continue
        match = regex.match(low, tried)
        if match is not None and not classify_module._inside_quotes(low, match.start()):
            return match
    return None


_SCAN_PATTERN_SETS = {
    "default": RefusalPatterns.default(),
    "with_extras": RefusalPatterns.from_config(extra=[r"we do not \w+", "nope"], disable=["cannot_help"]),
    "without_cjk": RefusalPatterns.from_config(extra=[], disable=["lang_ja", "lang_zh"]),
}
_FRAGMENTS = st.sampled_from(
    [
        *[". ", ".", "\n", "\n\n", ": ", ":\n", "! ", "?", "; ", "。", "！", "？", "\t", "\r\n"],
        *[" ", " " * 30, "* ", "> ", "# ", "_", '"', "“", "”", "e.g.", "3.5", "x", "y"],
        *["I", "i", "It", "itself", "The", "the request", "Unfortunately,", "I'm sorry, but", "wrote:"],
        "The customer said: ",
        "I can't help with that",
        "I cannot do that.",
        "This request violates our usage policy",
        "Nope",
        "We do not discuss pricing",
        "Lo siento, no puedo ayudar",
        "抱歉，我无法帮助你完成这个请求",
        "申し訳ありませんが、そのご依頼にはお応えできません",
        "Here is how to reset it",
        "İ",
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    st.integers(min_value=0, max_value=440),
    st.sampled_from("x. \n"),
    st.sampled_from([". ", ".\n", "\n", ": ", "。"]),
    st.integers(min_value=0, max_value=120),
    st.lists(_FRAGMENTS, max_size=40),
    st.sampled_from(sorted(_SCAN_PATTERN_SETS)),
)
def test_sentence_scan_finds_what_trying_each_sentence_start_finds(
    pad: int, pad_char: str, delimiter: str, gap: int, fragments: list[str], pattern_set: str
) -> None:
    # Padding and a run of white space move the fragments across the edge of the opening and of
    # the window the scan reads.
    text = pad_char * pad + delimiter + " " * gap + "".join(fragments)
    patterns = _SCAN_PATTERN_SETS[pattern_set]
    fast, slow = patterns.find_decline(text), _decline_sentence_by_sentence(patterns, text)
    assert (fast and (fast.start(), fast.end(), fast.lastgroup)) == (
        slow and (slow.start(), slow.end(), slow.lastgroup)
    )


def test_a_sentence_counts_when_its_delimiter_lies_inside_the_opening() -> None:
    last_in = "x" * (OPENING_CHARS - 1) + ". "  # the delimiter is the opening's last character
    assert text_only(last_in + REFUSAL_TEXT) == Verdict(True, "pattern:cannot_help")
    assert text_only("x" + last_in + REFUSAL_TEXT) == Verdict(False, "none")


def test_sentence_scan_reads_a_first_word_past_its_window_whole() -> None:
    # The sentence starts inside the opening, but white space carries its first word past the
    # part of the text the scan reads: the word is read again in full, as the rule says.
    opening = "x" * (OPENING_CHARS - 10) + ".\n" + " " * 100
    assert text_only(opening + REFUSAL_TEXT) == Verdict(True, "pattern:cannot_help")
    assert text_only(opening + "Italy is lovely in May.") == Verdict(False, "none")
