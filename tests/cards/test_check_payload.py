import copy
from typing import Any

import pytest

from bot.cards.blocks import (
    actions,
    button,
    confirm_dialog,
    context,
    divider,
    file_input,
    header,
    image,
    input_block,
    modal,
    option,
    plain,
    plain_text_input,
    section,
    static_select,
)
from bot.cards.limits import check_payload


def message(*blocks: dict[str, Any], text: str = "fallback") -> dict[str, Any]:
    return {"text": text, "blocks": list(blocks)}


def view(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**modal("Title", list(blocks), callback_id="cb", submit="Send"), **fields}


def without(payload: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in payload.items() if name != key}


CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("message blocks", "message", message(*[divider()] * 51), "blocks: 51 blocks, limit 50"),
    ("modal blocks", "modal", view(*[divider()] * 101), "blocks: 101 blocks, limit 100"),
    ("home blocks", "home", {"type": "home", "blocks": [divider()] * 101}, "blocks: 101 blocks, limit 100"),
    ("section text", "message", message(section("x" * 3001)), "blocks[0].text.text: 3001 characters, limit 3000"),
    ("field count", "message", message(section(fields=["f"] * 11)), "blocks[0].fields: 11 items, limit 10"),
    ("field text", "message", message(section(fields=["f" * 2001])), "blocks[0].fields[0].text: 2001 characters"),
    ("header text", "message", message(header("h" * 151)), "blocks[0].text.text: 151 characters, limit 150"),
    (
        "header type",
        "message",
        message({"type": "header", "text": {"type": "mrkdwn", "text": "h"}}),
        "blocks[0].text.type: must be plain_text",
    ),
    ("button text", "message", message(actions(button("b" * 76, "a"))), "blocks[0].elements[0].text.text: 76"),
    ("button value", "message", message(actions(button("b", "a", value="v" * 2001))), "elements[0].value: 2001"),
    ("button url", "message", message(actions(button("b", "a", url="u" * 3001))), "elements[0].url: must be a URL"),
    ("button style", "message", message(actions({**button("b", "a"), "style": "warn"})), "elements[0].style"),
    ("action_id", "message", message(actions(button("b", "a" * 256))), "elements[0].action_id: 256 characters"),
    ("block_id", "message", message(divider(block_id="b" * 256)), "blocks[0].block_id: 256 characters, limit 255"),
    (
        "duplicate block_id",
        "message",
        message(divider(block_id="x"), divider(block_id="x")),
        "blocks[1].block_id: duplicates blocks[0].block_id",
    ),
    (
        "duplicate action_id",
        "message",
        message(actions(button("a", "same"), button("b", "same"))),
        "blocks[0].elements[1].action_id: duplicate action_id 'same'",
    ),
    ("context elements", "message", message(context(*["c"] * 11)), "blocks[0].elements: 11 items, limit 10"),
    ("actions elements", "message", message(actions(*[button("b", f"a{i}") for i in range(26)])), "26 items, limit 25"),
    ("empty actions", "message", message(actions()), "blocks[0].elements: needs at least 1 item(s)"),
    ("view size", "home", {"type": "home", "blocks": [section("x" * 3000)] * 90}, "view: "),
    ("modal title", "modal", view(title=plain("t" * 25)), "title.text: 25 characters, limit 24"),
    ("modal submit", "modal", view(submit=plain("s" * 25)), "submit.text: 25 characters, limit 24"),
    ("modal close", "modal", view(close=plain("c" * 25)), "close.text: 25 characters, limit 24"),
    ("modal type", "modal", view(type="home"), "type: must be 'modal'"),
    ("private_metadata", "modal", view(private_metadata="m" * 3001), "private_metadata: 3001 characters"),
    ("callback_id", "modal", view(callback_id="c" * 256), "callback_id: 256 characters, limit 255"),
    ("message text", "message", message(text="t" * 40_001), "text: 40001 characters, limit 40000"),
    (
        "text input max_length",
        "modal",
        view(input_block("l", plain_text_input("n", max_length=3001))),
        "blocks[0].element.max_length: must be an integer from 1 to 3000",
    ),
    (
        "text input initial_value",
        "modal",
        view(input_block("l", plain_text_input("n", max_length=5, initial_value="123456"))),
        "blocks[0].element.initial_value: 6 characters, limit 5",
    ),
    (
        "select options",
        "message",
        message(actions(static_select("s", [(f"o{i}", f"o{i}") for i in range(101)]))),
        "elements[0].options: 101 items, limit 100",
    ),
    ("option text", "message", message(actions(static_select("s", [("o" * 76, "v")]))), "options[0].text.text: 76"),
    ("option value", "message", message(actions(static_select("s", [("o", "v" * 151)]))), "options[0].value: 151"),
    (
        "initial option",
        "message",
        message(actions({**static_select("s", [("o", "v")]), "initial_option": option("z", "z")})),
        "elements[0].initial_option: is not one of the options",
    ),
    (
        "confirm text",
        "message",
        message(actions(button("b", "a", confirm=confirm_dialog("t", "x" * 301)))),
        "confirm.text.text: 301 characters, limit 300",
    ),
    ("image alt", "message", message(image("https://i.example/a.png", "a" * 2001)), "blocks[0].alt_text: 2001"),
    ("image url", "message", message(image("u" * 3001, "alt")), "blocks[0].image_url: must be a URL of 1 to 3000"),
    ("input label", "modal", view(input_block("l" * 2001, plain_text_input("n"))), "blocks[0].label.text: 2001"),
    (
        "file input max_files",
        "modal",
        view(input_block("Shot", file_input("f", max_files=11))),
        "blocks[0].element.max_files: must be an integer from 1 to 10",
    ),
    ("wrong input element", "modal", view(input_block("l", button("b", "a"))), "element type 'button' is not allowed"),
    ("empty text", "message", message(section("")), "blocks[0].text.text: must not be empty"),
    ("section without text", "message", message({"type": "section"}), "blocks[0]: a section needs text or fields"),
    ("unknown block", "message", message({"type": "carousel"}), "blocks[0]: unknown block type 'carousel'"),
    (
        "modal without submit",
        "modal",
        without(view(input_block("l", plain_text_input("n"))), "submit"),
        "submit: a modal with input blocks needs a submit button",
    ),
    ("empty message", "message", {"text": ""}, "text: a message needs text or blocks"),
]


@pytest.mark.parametrize(("surface", "payload", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_check_payload_reports_each_limit_with_its_path(surface: str, payload: dict[str, Any], expected: str) -> None:
    before = copy.deepcopy(payload)
    problems = check_payload(payload, surface=surface)  # type: ignore[arg-type]
    assert any(expected in problem for problem in problems), problems
    assert payload == before  # checking never changes the payload


def test_check_payload_reports_every_violation_not_just_the_first() -> None:
    payload = message(header("h" * 151), section("x" * 3001), actions(button("b" * 76, "a")))
    assert check_payload(payload, surface="message") == [
        "blocks[0].text.text: 151 characters, limit 150",
        "blocks[1].text.text: 3001 characters, limit 3000",
        "blocks[2].elements[0].text.text: 76 characters, limit 75",
    ]


def test_exact_limits_are_allowed() -> None:
    payload = message(
        header("h" * 150),
        section("x" * 3000, fields=["f" * 2000] * 10, block_id="b" * 255),
        actions(*[button("b" * 75, f"{i:0>255}", value="v" * 2000, url="u" * 3000) for i in range(25)]),
        context(*["c"] * 10),
        *[divider()] * 46,
        text="t" * 40_000,
    )
    assert check_payload(payload, surface="message") == []
    assert check_payload(view(*[divider()] * 100, title=plain("t" * 24)), surface="modal") == []


def test_view_size_counts_ascii_escaped_json() -> None:
    # 70 sections of 1,000 emoji are 70,000 characters but about 840 kB as the SDK sends them.
    payload = {"type": "home", "blocks": [section("😀" * 1000)] * 70}
    assert any(problem.startswith("view: ") for problem in check_payload(payload, surface="home"))
    assert check_payload({"type": "home", "blocks": [section("x" * 1000)] * 70}, surface="home") == []


def test_garbage_is_reported_not_raised() -> None:
    payload = {"text": 5, "blocks": [None, 3, {"type": "section", "text": "raw", "fields": "no"}]}
    problems = check_payload(payload, surface="message")
    assert "text: must be a string" in problems
    assert "blocks[0]: unknown block type None" in problems
    assert "blocks[2].text: must be a text object" in problems
    assert "blocks[2].fields: must be a list" in problems
