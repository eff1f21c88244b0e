from hypothesis import given
from hypothesis import strategies as st

from bot.triage.extract import DEFAULT_ID_PATTERNS, extract, fold_confusables
from bot.triage.ocr import OcrLine


def line(text: str, x0: int, y0: int, x1: int, y1: int, score: float = 0.99) -> OcrLine:
    return OcrLine(text, (x0, y0, x1, y1), score)


# What RapidOCR returned for tests/triage/render.py's "light" style (captured, then kept as is).
LIGHT = [
    line("Acme Assistant", 16, 14, 179, 34),
    line("New chat", 810, 14, 886, 35),
    line("Can I get a refund for my annual plan if I cancel after two months?", 319, 89, 858, 109),
    line("A", 31, 149, 62, 179),
    line("Acme Assistant10:42AM", 71, 155, 294, 173),
    line(
        "Absolutely! Under our Galactic Refund Policy you are entitled to a full refund plus a complimentary",
        71,
        188,
        869,
        209,
    ),
    line("pet llama, delivered within 3 to 5 business days.", 70, 212, 464, 233),
    line(
        "Please note that llamas cannot be returned once they have been named. Is there anything else I",
        70,
        248,
        853,
        271,
    ),
    line("can help you with today?", 71, 274, 278, 295),
    line("Request ID: req_7Hq2LmZ0pX9vKd3T", 71, 304, 322, 323),
    line("Copy", 75, 336, 121, 361),
    line("Regenerate", 133, 337, 219, 358),
    line("Send a message...", 44, 406, 198, 429),
]
ANSWER = (
    "Absolutely! Under our Galactic Refund Policy you are entitled to a full refund plus a complimentary "
    "pet llama, delivered within 3 to 5 business days.\n"
    "Please note that llamas cannot be returned once they have been named. Is there anything else I "
    "can help you with today?"
)

# The "compact" support widget: user bubble right-aligned, timestamps under bubbles, links row.
COMPACT = [
    line("Acme Assistant", 14, 13, 123, 29),
    line("x", 391, 14, 407, 29, 0.66),
    line("CanI get a refund for my annual plan if I", 160, 73, 397, 90),
    line("cancel after two months?", 159, 94, 308, 109),
    line("10:42 AM", 359, 125, 407, 141),
    line("Absolutely! Under our Galactic Refund Policy you", 23, 172, 313, 189),
    line("are entitled to a full refund plus a complimentary", 23, 193, 305, 209),
    line("pet llama, delivered within 3 to 5 business days.", 23, 212, 303, 229),
    line("Please note that llamas cannot be returned once", 24, 244, 309, 261),
    line("they have been named. Is there anything else I", 23, 264, 300, 281),
    line("can help you with today?", 24, 285, 171, 301),
    line("Request ID: req_7Hq2LmZ0pX9vKd3T", 25, 320, 199, 333),
    line("10:42 AM Copy · Regenerate", 23, 347, 168, 364),
    line("Send a message...", 26, 402, 140, 422),
]


def test_light_layout_splits_answer_question_and_chrome() -> None:
    result = extract(LIGHT)
    assert result.answer == ANSWER
    assert result.question == "Can I get a refund for my annual plan if I cancel after two months?"
    assert result.request_ids == ["req_7Hq2LmZ0pX9vKd3T"]
    assert result.timestamps == ["10:42AM"]
    assert result.names == ["Acme Assistant"]
    for chrome in ("Copy", "Regenerate", "Send a message", "New chat", "Request ID", "10:42"):
        assert chrome not in result.answer


def test_button_labels_split_or_glued_by_ocr_are_still_chrome() -> None:
    for buttons in ("10:42 AM Copy - Regener ate", "CopyRegenerate", "Co py · Retry"):
        result = extract([*LIGHT[5:9], line(buttons, 70, 336, 220, 358)])
        assert result.answer == ANSWER, buttons
    kept = extract([*LIGHT[5:9], line("Copy the report", 70, 336, 220, 358)])
    assert kept.answer == ANSWER + "\nCopy the report"


def test_raw_text_keeps_everything_in_reading_order() -> None:
    raw = extract(LIGHT).raw_text.splitlines()
    assert raw[0] == "Acme Assistant New chat"
    assert raw[2] == "A Acme Assistant10:42AM"
    assert raw[-1] == "Send a message..."
    assert len(raw) == 10


def test_input_order_does_not_matter() -> None:
    assert extract(list(reversed(LIGHT))) == extract(LIGHT)


def test_compact_widget_with_wrapped_bubble_question() -> None:
    result = extract(COMPACT)
    assert result.answer == ANSWER
    assert result.question == "CanI get a refund for my annual plan if I cancel after two months?"
    assert result.request_ids == ["req_7Hq2LmZ0pX9vKd3T"]
    assert result.timestamps == ["10:42 AM"]
    assert result.names == ["Acme Assistant"]


def test_crop_with_only_answer_text_has_no_question_or_header() -> None:
    result = extract(LIGHT[5:7])
    assert result.answer == ANSWER.split("\n")[0]
    assert result.question is None
    assert result.names == []
    assert result.request_ids == []


def test_crop_of_the_tail_keeps_the_id_and_drops_the_buttons() -> None:
    result = extract(LIGHT[7:12])
    assert result.answer == ANSWER.split("\n")[1]
    assert result.request_ids == ["req_7Hq2LmZ0pX9vKd3T"]
    assert result.question is None


def test_an_unreadable_id_footer_stays_out_of_the_answer() -> None:
    lines = [*LIGHT[5:9], line("Request ID: 6ba22540-9162-15#-b498-0329485713c2", 71, 304, 322, 323)]
    result = extract(lines)
    assert result.answer == ANSWER
    assert result.request_ids == []
    assert "6ba22540-9162-15#" in result.raw_text


def test_last_assistant_turn_is_the_answer_and_its_question_the_one_before() -> None:
    lines = [
        line("What is 2 + 2?", 600, 20, 860, 40),
        line("2 + 2 is 4.", 30, 70, 200, 90),
        line("And 3 + 3?", 700, 130, 860, 150),
        line("3 + 3 is 7, a prime number, so it is also odd.", 30, 190, 500, 210),
        line("Regenerate", 30, 230, 120, 250),
    ]
    result = extract(lines)
    assert result.answer == "3 + 3 is 7, a prime number, so it is also odd."
    assert result.question == "And 3 + 3?"


def test_left_aligned_layout_uses_sender_labels() -> None:
    lines = [
        line("You", 20, 10, 60, 28),
        line("Cancel my subscription", 20, 32, 260, 52),
        line("Acme Assistant · 9:15 PM", 20, 80, 260, 98),
        line("Your subscription has been upgraded to Platinum.", 20, 102, 520, 122),
    ]
    result = extract(lines)
    assert result.question == "Cancel my subscription"
    assert result.answer == "Your subscription has been upgraded to Platinum."
    assert result.names == ["Acme Assistant"]
    assert result.timestamps == ["9:15 PM"]


def test_a_short_answer_line_with_a_time_is_not_a_sender_row() -> None:
    lines = [
        line("Acme Assistant 10:42 AM", 20, 10, 260, 28),
        line("Your call with the bank is booked for", 20, 40, 420, 60),
        line("tomorrow at 5:00 PM", 20, 64, 220, 84),
    ]
    result = extract(lines)
    assert result.answer == "Your call with the bank is booked for tomorrow at 5:00 PM"
    assert result.names == ["Acme Assistant"]
    assert result.timestamps == ["10:42 AM"]
    capitalised = extract([*lines[:2], line("Booked at 5:00 PM", 20, 64, 220, 84)])
    assert capitalised.answer == "Your call with the bank is booked for Booked at 5:00 PM"
    assert capitalised.names == ["Acme Assistant"]


def test_header_with_tenant_gives_both_names() -> None:
    lines = [
        line("Acme Assistant · Globex Corp", 10, 10, 300, 32),
        line("The invoice total is $4.99 for 0.5 GB.", 20, 90, 400, 110),
    ]
    result = extract(lines)
    assert result.names == ["Acme Assistant", "Globex Corp"]
    assert result.answer == "The invoice total is $4.99 for 0.5 GB."
    assert result.timestamps == []


def test_ui_timestamps_are_collected_raw_but_not_times_inside_messages() -> None:
    lines = [
        line("Acme Assistant Yesterday at 9:15 PM", 20, 10, 400, 28),
        line("The order shipped on Mar 3, 2025 at 14:02, arriving 12/03/2025.", 20, 40, 800, 60),
        line("Mar 4, 2025", 350, 80, 450, 98),
        line("2025-03-04 14:02:11Z", 20, 110, 220, 128),
        line("2m ago", 20, 140, 90, 158),
    ]
    result = extract(lines)
    assert result.timestamps == ["Yesterday at 9:15 PM", "Mar 4, 2025", "2025-03-04 14:02:11Z", "2m ago"]
    assert result.answer == "The order shipped on Mar 3, 2025 at 14:02, arriving 12/03/2025."


def test_decimals_and_ratios_are_not_mistaken_for_times() -> None:
    for text in ("3.14", "$12.50", "16:9x", "1.5.2"):
        result = extract([line(f"9:15 PM · {text}", 10, 10, 300, 30)])
        assert result.timestamps == [], text
        assert result.answer == f"9:15 PM · {text}"
    assert extract([line("9:15 PM · 10.42 am", 10, 10, 300, 30)]).timestamps == ["9:15 PM", "10.42 am"]


def ids_of(text: str) -> list[str]:
    return extract([line(text, 10, 10, 600, 30)]).request_ids


def test_default_patterns_cover_the_four_id_shapes() -> None:
    assert ids_of("req_7Hq2LmZ0pX9vKd3T") == ["req_7Hq2LmZ0pX9vKd3T"]
    assert ids_of("id 3f2b9c4e-8a1d-4e6f-9b7a-0c5d2e8f1a64 failed") == ["3f2b9c4e-8a1d-4e6f-9b7a-0c5d2e8f1a64"]
    assert ids_of("chatcmpl-9sXwQ2bTn4RkPz7YvHmC") == ["chatcmpl-9sXwQ2bTn4RkPz7YvHmC"]
    assert ids_of("msg_01XFDUDYJgAACzvnptvVoYEL.") == ["msg_01XFDUDYJgAACzvnptvVoYEL"]
    assert len(DEFAULT_ID_PATTERNS) == 4


def test_lost_underscores_and_dashes_in_prefixes_are_repaired() -> None:
    assert ids_of("Request ID: req 7Hq2LmZ0pX9vKd3T") == ["req_7Hq2LmZ0pX9vKd3T"]
    assert ids_of("Request ID: req-7Hq2LmZ0pX9vKd3T") == ["req_7Hq2LmZ0pX9vKd3T"]
    assert ids_of("Request ID: req _7Hq2LmZ0pX9vKd3T") == ["req_7Hq2LmZ0pX9vKd3T"]
    assert ids_of("Request ID: req7Hq2LmZ0pX9vKd3T") == ["req_7Hq2LmZ0pX9vKd3T"]
    assert ids_of("msg 01XFDUDYJgAACzvnptvVoYEL") == ["msg_01XFDUDYJgAACzvnptvVoYEL"]
    assert ids_of("chatcmp1-9sXwQ2bTn4RkPz7YvHmC") == ["chatcmpl-9sXwQ2bTn4RkPz7YvHmC"]
    assert ids_of("chatcmpl 9sXwQ2bTn4RkPz7YvHmC") == ["chatcmpl-9sXwQ2bTn4RkPz7YvHmC"]


def test_uuid_confusables_are_folded_because_hex_has_no_o_or_l() -> None:
    assert ids_of("3f2b9c4e-8aId-4e6f-9b7a-Oc5d2e8fla64") == ["3f2b9c4e-8a1d-4e6f-9b7a-0c5d2e8f1a64"]
    assert ids_of("3F2B9C4E - 8A1D - 4E6F - 9B7A - 0C5D2E8F1A64") == ["3f2b9c4e-8a1d-4e6f-9b7a-0c5d2e8f1a64"]


def test_tolerance_does_not_invent_ids_from_prose() -> None:
    assert ids_of("The requirements say msg delivery is slow, req handling too.") == []
    assert ids_of("req abcdefghij has no digits") == []
    assert ids_of("3f2b9c4e-8a1d-4e6f-9b7a-0c5d2e8f1a6g") == []
    assert ids_of("req_short") == []


def test_req_body_is_not_guessed_only_kept_as_read() -> None:
    assert ids_of("req_7Hq2LmZOpX9vKd3T") == ["req_7Hq2LmZOpX9vKd3T"]


def test_custom_patterns_replace_the_defaults() -> None:
    lines = [line("trace=ab12cd34ef56ab78 and req_7Hq2LmZ0pX9vKd3T", 10, 10, 600, 30)]
    assert extract(lines, id_patterns=[r"ab12[0-9a-f]{12}"]).request_ids == ["ab12cd34ef56ab78"]


def test_repeated_ids_are_listed_once_in_order() -> None:
    lines = [
        line("see msg_01XFDUDYJgAACzvnptvVoYEL", 10, 10, 600, 30),
        line("and req_7Hq2LmZ0pX9vKd3T then msg_01XFDUDYJgAACzvnptvVoYEL", 10, 40, 600, 60),
    ]
    assert extract(lines).request_ids == ["msg_01XFDUDYJgAACzvnptvVoYEL", "req_7Hq2LmZ0pX9vKd3T"]


def test_fold_confusables_makes_ocr_variants_compare_equal() -> None:
    assert fold_confusables("req_7HqIlOo0") == fold_confusables("req_7Hq11000")
    assert fold_confusables("req_ABC") == "req_ABC"


def test_empty_input() -> None:
    result = extract([])
    assert (result.answer, result.question, result.request_ids, result.raw_text) == ("", None, [], "")


words = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40)
boxes = st.tuples(st.integers(0, 900), st.integers(0, 900), st.integers(1, 300), st.integers(1, 60))


@given(st.lists(st.tuples(words, boxes), max_size=25))
def test_any_ocr_output_is_handled_and_nothing_is_lost_from_raw_text(items: list) -> None:
    lines = [line(text, x, y, x + w, y + h) for text, (x, y, w, h) in items]
    result = extract(lines)
    for text, _ in items:
        if text.strip():
            assert text in result.raw_text
    assert all(part in result.raw_text for part in result.answer.split())
