from bot.cards.blocks import (
    Card,
    actions,
    button,
    confirm_dialog,
    context,
    divider,
    fields_section,
    file_input,
    header,
    home,
    image,
    image_element,
    input_block,
    modal,
    mrkdwn,
    option,
    plain,
    plain_text_input,
    section,
    static_select,
)
from bot.cards.limits import check_payload


def test_text_objects() -> None:
    assert plain("Hi") == {"type": "plain_text", "text": "Hi", "emoji": True}
    assert plain("Hi", emoji=False)["emoji"] is False
    assert mrkdwn("*Hi*") == {"type": "mrkdwn", "text": "*Hi*"}


def test_header() -> None:
    assert header("Cost burn") == {"type": "header", "text": plain("Cost burn")}
    assert header("Cost burn", block_id="h")["block_id"] == "h"


def test_section_with_text_fields_and_accessory() -> None:
    ack = button("Ack", "ack")
    block = section("*Spend* is up", fields=["a", "b"], accessory=ack, block_id="s1")
    assert block == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Spend* is up"},
        "fields": [{"type": "mrkdwn", "text": "a"}, {"type": "mrkdwn", "text": "b"}],
        "accessory": ack,
        "block_id": "s1",
    }


def test_section_leaves_out_what_was_not_given() -> None:
    assert section("only text") == {"type": "section", "text": {"type": "mrkdwn", "text": "only text"}}
    assert "text" not in section(fields=["x"])


def test_fields_section_bolds_labels() -> None:
    block = fields_section([("Model", "gpt-4o"), ("Spend", "$12.00")])
    assert [field["text"] for field in block["fields"]] == ["*Model*\ngpt-4o", "*Spend*\n$12.00"]
    assert "text" not in block


def test_context_accepts_strings_and_images() -> None:
    logo = image_element("https://img.example/x.png", "logo")
    block = context("one", logo, block_id="c")
    assert block == {"type": "context", "elements": [mrkdwn("one"), logo], "block_id": "c"}


def test_divider() -> None:
    assert divider() == {"type": "divider"}
    assert divider(block_id="d") == {"type": "divider", "block_id": "d"}


def test_button_variants() -> None:
    assert button("Ack", "ack") == {"type": "button", "text": plain("Ack"), "action_id": "ack"}
    dialog = confirm_dialog("Kill it?", "Traffic stops.", confirm="Kill", style="danger")
    full = button("Kill", "kill", value="feature-42", style="danger", url="https://x.example", confirm=dialog)
    assert full["value"] == "feature-42"
    assert full["style"] == "danger"
    assert full["url"] == "https://x.example"
    assert full["confirm"] == {
        "title": plain("Kill it?"),
        "text": plain("Traffic stops."),
        "confirm": plain("Kill"),
        "deny": plain("Cancel"),
        "style": "danger",
    }


def test_actions_keeps_element_order() -> None:
    block = actions(button("A", "a"), button("B", "b"), block_id="row")
    assert [element["action_id"] for element in block["elements"]] == ["a", "b"]
    assert block["block_id"] == "row"


def test_static_select_with_pairs_and_initial_value() -> None:
    choices = [("1 hour", "1h"), option("1 day", "1d", description="quiet")]
    element = static_select("snooze", choices, initial_value="1d")
    assert element["type"] == "static_select"
    assert element["placeholder"] == plain("Choose…")
    assert element["options"][0] == {"text": plain("1 hour"), "value": "1h"}
    assert element["options"][1]["description"] == plain("quiet")
    assert element["initial_option"] == element["options"][1]
    assert "initial_option" not in static_select("s", [("a", "a")], initial_value="missing")


def test_image_block() -> None:
    block = image("https://img.example/s.png", "screenshot", title="Reported", block_id="img")
    assert block == {
        "type": "image",
        "image_url": "https://img.example/s.png",
        "alt_text": "screenshot",
        "title": plain("Reported"),
        "block_id": "img",
    }


def test_inputs() -> None:
    text = plain_text_input("note", placeholder="Why?", multiline=True, max_length=500)
    assert text == {
        "type": "plain_text_input",
        "action_id": "note",
        "multiline": True,
        "placeholder": plain("Why?"),
        "max_length": 500,
    }
    upload = file_input("shot", filetypes=["png", "jpg"], max_files=2)
    assert upload == {"type": "file_input", "action_id": "shot", "max_files": 2, "filetypes": ["png", "jpg"]}
    block = input_block("Note", text, block_id="note_block", hint="One line", optional=True)
    assert block == {
        "type": "input",
        "label": plain("Note"),
        "element": text,
        "optional": True,
        "hint": plain("One line"),
        "block_id": "note_block",
    }


def test_modal_and_home_views_pass_the_limit_check() -> None:
    blocks = [input_block("Note", plain_text_input("note"), block_id="n")]
    view = modal("Triage", blocks, callback_id="triage", submit="Send", close="Cancel", private_metadata="C1:123")
    assert view == {
        "type": "modal",
        "callback_id": "triage",
        "title": plain("Triage"),
        "blocks": blocks,
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "private_metadata": "C1:123",
    }
    assert check_payload(view, surface="modal") == []
    tab = home([header("afterlaunch"), section("All quiet")], callback_id="home")
    assert tab == {"type": "home", "blocks": [header("afterlaunch"), section("All quiet")], "callback_id": "home"}
    assert check_payload(tab, surface="home") == []


def test_card_to_message() -> None:
    card = Card(text="Cost burn", blocks=[header("Cost burn"), section("up 4x")], metadata={"event_type": "x"})
    assert card.to_message() == {
        "text": "Cost burn",
        "unfurl_links": False,
        "unfurl_media": False,
        "blocks": [header("Cost burn"), section("up 4x")],
        "metadata": {"event_type": "x"},
    }
    assert card.problems() == []
    assert "blocks" not in Card(text="plain note").to_message()


def test_card_to_message_fits_an_oversized_card() -> None:
    card = Card(text="Long", blocks=[section("word " * 1000)] * 60)
    assert card.problems() != []
    message = card.to_message(more_ref="card-7")
    assert check_payload(message, surface="message") == []
    assert message["blocks"][-1]["elements"][0]["value"] == "card-7"
    assert len(card.blocks) == 60  # the card itself is left as it was


def test_card_thread_message() -> None:
    assert Card(text="t").thread_message() is None
    follow_up = Card(text="t", thread_text="x" * 50_000).thread_message()
    assert follow_up is not None
    assert len(follow_up["text"]) <= 40_000
    assert check_payload(follow_up, surface="message") == []
