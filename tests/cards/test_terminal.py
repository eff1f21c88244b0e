import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cards.blocks import (
    Card,
    actions,
    button,
    context,
    divider,
    fields_section,
    file_input,
    header,
    image,
    input_block,
    modal,
    plain_text_input,
    section,
    static_select,
)
from bot.cards.terminal import mrkdwn_runs, to_terminal, visible_len

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def sample_card() -> Card:
    return Card(
        text="Cost burn on support-bot",
        blocks=[
            header("Cost burn: support-bot"),
            section(
                "*support-bot* spent *$1,234.56* in the last hour, 4.2x its usual rate. "
                "See <https://grafana.example/d/cost?a=1&amp;b=2|the dashboard> &amp; ask <@U0123ABC>."
            ),
            fields_section([("Model", "gpt-4o"), ("Owner", "<@U0123ABC|maria>"), ("Budget", "$500.00 / day")]),
            divider(),
            actions(
                button("Acknowledge", "ack", style="primary"),
                button("Kill switch", "kill", style="danger"),
                static_select("snooze", [("1 hour", "1h")], placeholder="Snooze"),
            ),
            context("Detector `cost_burn` · <!date^1714572180^{date_short_pretty}|2024-05-01 14:03 UTC> · <!here>"),
        ],
    )


def test_sample_card_without_color() -> None:
    out = to_terminal(sample_card().to_message(), width=80, color=False)
    assert out == "\n".join(
        [
            "Cost burn: support-bot",
            "══════════════════════",
            "",
            "support-bot spent $1,234.56 in the last hour, 4.2x its usual rate. See the",
            "dashboard (https://grafana.example/d/cost?a=1&b=2) & ask @U0123ABC.",
            "",
            "Model                                    Owner",
            "gpt-4o                                   @maria",
            "Budget",
            "$500.00 / day",
            "",
            "─" * 80,
            "[ Acknowledge ] [ Kill switch ] [ Snooze ▾ ]",
            "",
            "Detector cost_burn · 2024-05-01 14:03 UTC · @here",
        ]
    )


def test_color_styles_bold_links_buttons_and_dims_context() -> None:
    out = to_terminal(sample_card().to_message(), width=80, color=True)
    lines = out.splitlines()
    assert lines[0] == "\x1b[1mCost burn: support-bot\x1b[0m"
    assert "\x1b[1msupport-bot\x1b[0m spent" in out
    assert "\x1b[4mthe\x1b[0m" in out or "\x1b[4mthe dashboard\x1b[0m" in out
    assert "\x1b[32m[ Acknowledge ]\x1b[0m" in out
    assert "\x1b[31m[ Kill switch ]\x1b[0m" in out
    assert lines[-1].startswith("\x1b[2mDetector")
    assert ANSI.sub("", out) == to_terminal(sample_card().to_message(), width=80, color=False)


def test_color_is_off_when_stdout_is_not_a_terminal() -> None:
    # pytest captures stdout, so it is not a TTY here.
    assert "\x1b[" not in to_terminal(sample_card().to_message())


def test_lines_never_exceed_the_width() -> None:
    card = sample_card()
    card.blocks.append(section("https://a.example/" + "x" * 300 + " and a very long tail " * 20))
    for width in (20, 41, 80, 100):
        for line in to_terminal(card.to_message(), width=width, color=True).splitlines():
            assert visible_len(line) <= width, line


def test_modal_shows_title_inputs_and_buttons() -> None:
    view = modal(
        "Report a screenshot",
        [
            input_block("Screenshot", file_input("shot")),
            input_block("What went wrong?", plain_text_input("n", placeholder="One line"), hint="Hint", optional=True),
            image("https://img.example/s.png", "the screenshot"),
        ],
        callback_id="triage",
        submit="Triage",
        close="Cancel",
    )
    out = to_terminal(view, width=60, color=False)
    assert out.splitlines()[:2] == ["Report a screenshot", "═══════════════════"]
    assert "Screenshot\n[ choose files… ]" in out
    assert "What went wrong? (optional)\n[ One line________________ ]\nHint" in out
    assert "[image: the screenshot] https://img.example/s.png" in out
    assert out.endswith("[ Triage ] [ Cancel ]")


def test_text_only_message_and_plain_text_sections() -> None:
    assert to_terminal({"text": "hello &amp; *bye*"}, color=False) == "hello & bye"
    block = {"type": "section", "text": {"type": "plain_text", "text": "*not bold*"}}
    assert to_terminal({"blocks": [block]}, color=False) == "*not bold*"


def test_mrkdwn_runs_understand_slack_markup() -> None:
    runs = mrkdwn_runs("*b* _i_ ~s~ `c` <#C1|ops> <!channel> <!subteam^S1|@oncall> <https://x.example> snake_case")
    assert "".join(text for text, _ in runs) == "b i s c #ops @channel @oncall https://x.example snake_case"
    styles = {text: style for text, style in runs}
    assert styles["b"] == {"bold"}
    assert styles["i"] == {"italic"}
    assert styles["s"] == {"strike"}
    assert styles["c"] == {"code"}
    assert styles["https://x.example"] == {"underline"}


def test_code_block_keeps_indentation() -> None:
    out = to_terminal({"blocks": [section("```\ndef f():\n    return 1\n```")]}, color=False)
    assert out == "def f():\n    return 1"


PIECES = st.sampled_from([*"ab *_~`<>|&;\n\t", "&amp;", "<@U1>", "word", "x" * 30])


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(PIECES, max_size=200), st.integers(20, 120))
def test_wrapping_never_exceeds_the_width(pieces: list[str], width: int) -> None:
    text = "".join(pieces)
    out = to_terminal({"blocks": [section(text or "x")]}, width=width, color=False)
    assert all(len(line) <= width for line in out.splitlines())
