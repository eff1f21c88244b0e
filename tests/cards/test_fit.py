import json
import re
from typing import Any

import pytest

from bot.cards.blocks import (
    actions,
    button,
    context,
    divider,
    header,
    home,
    input_block,
    modal,
    plain_text_input,
    section,
    static_select,
)
from bot.cards.limits import VIEW_JSON_BYTES, check_payload, fit, truncate_text


def trailer_count(blocks: list[dict[str, Any]]) -> int:
    """How many blocks at the end fit() added: the left-out note and the Show more row."""
    count = 0
    if blocks and blocks[-1]["type"] == "actions" and blocks[-1]["elements"][0].get("action_id") == "show_more":
        count += 1
    note = blocks[-1 - count] if len(blocks) > count else None
    if note and note["type"] == "context" and "left out" in note["elements"][0]["text"]:
        count += 1
    return count


def left_out(blocks: list[dict[str, Any]]) -> int:
    for block in blocks[-2:]:
        if block["type"] == "context":
            found = re.search(r"_(\d+) more blocks? left out\._", block["elements"][0]["text"])
            if found:
                return int(found.group(1))
    return 0


def test_valid_payload_is_returned_unchanged_as_a_copy() -> None:
    payload = {"text": "hi", "blocks": [header("Cost"), section("fine", accessory=button("Ack", "ack"))]}
    fitted = fit(payload, surface="message")
    assert fitted == payload
    assert fitted is not payload
    assert fitted["blocks"][0] is not payload["blocks"][0]


def test_long_section_is_cut_at_a_word_and_gets_a_show_more_button() -> None:
    payload = {"text": "long", "blocks": [section("alpha beta gamma " * 400)]}
    fitted = fit(payload, surface="message", more_ref="finding:42")
    text = fitted["blocks"][0]["text"]["text"]
    assert len(text) <= 3000
    assert text.endswith("gamma…") or text.endswith("beta…") or text.endswith("alpha…")
    more = {"type": "button", "text": {"type": "plain_text", "text": "Show more"}, "action_id": "show_more"}
    assert fitted["blocks"][-1] == actions({**more, "value": "finding:42"})
    assert check_payload(fitted, surface="message") == []
    assert len(payload["blocks"][0]["text"]["text"]) == 6800  # the input is not modified


def test_too_many_blocks_keeps_the_first_and_says_how_many_were_left_out() -> None:
    blocks = [section(f"block {i}") for i in range(200)]
    fitted = fit({"text": "t", "blocks": blocks}, surface="message", more_action_id="more_cost")
    assert len(fitted["blocks"]) == 50
    assert fitted["blocks"][:48] == blocks[:48]
    assert fitted["blocks"][48] == context("_152 more blocks left out._")
    assert fitted["blocks"][49]["elements"][0]["action_id"] == "more_cost"
    assert "value" not in fitted["blocks"][49]["elements"][0]


def test_more_ref_callback_gets_the_original_and_runs_only_when_needed() -> None:
    calls: list[dict[str, Any]] = []

    def remember(original: dict[str, Any]) -> str:
        calls.append(original)
        return "ref-1"

    small = {"text": "t", "blocks": [section("ok")]}
    fit(small, surface="message", more_ref=remember)
    assert calls == []
    big = {"text": "t", "blocks": [divider()] * 60}
    fitted = fit(big, surface="message", more_ref=remember)
    assert calls == [big]
    assert fitted["blocks"][-1]["elements"][0]["value"] == "ref-1"


def test_no_button_without_action_id() -> None:
    fitted = fit({"text": "t", "blocks": [divider()] * 51}, surface="message", more_action_id=None)
    assert fitted["blocks"][-1] == context("_2 more blocks left out._")
    assert len(fitted["blocks"]) == 50
    cut_only = fit({"text": "t", "blocks": [section("x " * 2000)]}, surface="message", more_action_id=None)
    assert len(cut_only["blocks"]) == 1


def test_view_over_250_kb_drops_trailing_blocks() -> None:
    tab = home([section("😀" * 2900) for _ in range(100)])
    fitted = fit(tab, surface="home")
    assert len(json.dumps(fitted)) <= VIEW_JSON_BYTES
    assert check_payload(fitted, surface="home") == []
    kept = len(fitted["blocks"]) - trailer_count(fitted["blocks"])
    assert 0 < kept < 10
    assert kept + left_out(fitted["blocks"]) == 100


def test_link_and_entity_are_never_cut() -> None:
    link = "<https://grafana.example.com/d/abc?from=now-1h&amp;to=now|the cost dashboard>"
    for start in range(2950, 3001, 7):
        text = "x" * start + " " + link + " tail"
        cut = fit({"text": "t", "blocks": [section(text)]}, surface="message")["blocks"][0]["text"]["text"]
        assert cut.count("<") == cut.count(">")
        assert link in cut or "<" not in cut
    entity_text = "y" * 2998 + "&amp;&amp; more"
    cut = fit({"text": "t", "blocks": [section(entity_text)]}, surface="message")["blocks"][0]["text"]["text"]
    assert not re.search(r"&(?!amp;)", cut)


def test_modal_repairs() -> None:
    view = modal("A title far longer than Slack allows", [input_block("Why", plain_text_input("why"))], callback_id="c")
    fitted = fit(view, surface="modal")
    assert fitted["title"]["text"].endswith("…")
    assert len(fitted["title"]["text"]) <= 24
    assert fitted["submit"] == {"type": "plain_text", "text": "Submit"}
    assert check_payload(fitted, surface="modal") == []


def test_duplicate_ids_are_dropped_not_renamed() -> None:
    payload = {
        "text": "t",
        "blocks": [divider(block_id="x"), divider(block_id="x"), actions(button("a", "same"), button("b", "same"))],
    }
    fitted = fit(payload, surface="message")
    assert fitted["blocks"][0]["block_id"] == "x"
    assert "block_id" not in fitted["blocks"][1]
    assert [e.get("action_id") for e in fitted["blocks"][2]["elements"]] == ["same", None]


def test_truncated_options_drop_a_lost_initial_option() -> None:
    options = [(f"o{i}", f"o{i}") for i in range(150)]
    payload = {"text": "t", "blocks": [actions(static_select("s", options, initial_value="o120"))]}
    element = fit(payload, surface="message")["blocks"][0]["elements"][0]
    assert len(element["options"]) == 100
    assert "initial_option" not in element


def test_broken_blocks_are_left_out_and_counted() -> None:
    payload = {"text": "t", "blocks": [section("ok"), {"type": "carousel"}, {"type": "header"}]}
    fitted = fit(payload, surface="message")
    assert fitted["blocks"][0] == section("ok")
    assert left_out(fitted["blocks"]) == 2
    assert check_payload(fitted, surface="message") == []


def test_text_only_message_is_truncated_without_adding_blocks() -> None:
    fitted = fit({"text": "word " * 10_000}, surface="message")
    assert "blocks" not in fitted
    assert len(fitted["text"]) <= 40_000
    assert fitted["text"].endswith("word…")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("hello brave new world", 12, "hello brave…"),
        ("hello brave new world", 11, "hello…"),
        ("abcdefghijklmnop", 8, "abcdefg…"),
        ("see <https://a.example/x|the page> now", 20, "see…"),
        ("fish &amp; chips", 9, "fish…"),
        ("a b c &amp;&amp;&amp;", 12, "a b c…"),
        ("&amp;&amp;&amp;&amp;", 8, "&amp;…"),
        ("```\ncode line one\ncode line two\n```", 20, "```\ncode line…```"),
        ("anything", 1, "…"),
        ("anything", 0, ""),
    ],
)
def test_truncate_text(text: str, limit: int, expected: str) -> None:
    assert truncate_text(text, limit) == expected
    assert len(truncate_text(text, limit)) <= limit
