import copy
import math
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cards.blocks import (
    actions,
    button,
    confirm_dialog,
    context,
    divider,
    fields_section,
    file_input,
    header,
    image,
    input_block,
    option,
    plain_text_input,
    section,
    static_select,
)
from bot.cards.limits import check_payload, fit, truncate_text
from tests.cards.test_fit import left_out, trailer_count

PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PIECES = st.one_of(
    st.sampled_from(
        [
            "word ",
            "&amp; ",
            "&lt;b&gt;",
            "<https://example.com/a?b=1&amp;c=2|a link with spaces>",
            "<@U0123ABC>",
            "<!date^1714572180^{date_short_pretty}|May 1>",
            "*bold* ",
            "```",
            "\n",
            "é",
            "😀",
            "x" * 40,
            "<unclosed",
            ">",
        ]
    ),
    st.text(max_size=8),
)
# Lengths around Slack's limits are where mistakes hide, so they are drawn often.
LENGTHS = st.one_of(
    st.integers(0, 20_000),
    st.sampled_from([0, 1, 23, 24, 25, 74, 75, 76, 150, 151, 300, 301, 2000, 2001, 3000, 3001, 20_000]),
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Texts up to 20,000 characters, built by repeating a short mix of words, links and entities."""
    unit = "".join(draw(st.lists(PIECES, max_size=8)))
    length = draw(LENGTHS)
    return (unit * math.ceil(length / len(unit)))[:length] if unit else ""


IDS = st.one_of(st.sampled_from(["a", "b", "dup"]), st.builds(lambda n: "i" * n, st.integers(250, 300)))
URLS = st.builds(lambda n: "https://e.example/" + "p" * n, st.sampled_from([1, 2900, 2990, 3100]))


def buttons() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda text, action_id, value, url, confirm: button(
            text, action_id, value=value, url=url, confirm=confirm_dialog(*confirm) if confirm else None
        ),
        texts(),
        IDS,
        st.none() | texts(),
        st.none() | URLS,
        st.none() | st.tuples(texts(), texts()),
    )


def selects() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda n, text, value, initial: static_select(
            "sel", [option(f"{text[:90]}{i}", f"{value}{i}") for i in range(n)], initial_value=initial
        ),
        st.integers(0, 130),
        texts(),
        st.sampled_from(["v", "v" * 149]),
        st.sampled_from([None, "v0", "v120"]),
    )


ELEMENTS = st.one_of(buttons(), selects())


def blocks() -> st.SearchStrategy[dict[str, Any]]:
    block_id = st.none() | IDS
    return st.one_of(
        st.builds(lambda t, b: header(t, block_id=b), texts(), block_id),
        st.builds(
            lambda t, f, a, b: section(t, fields=f, accessory=a, block_id=b),
            st.none() | texts(),
            st.lists(texts(), max_size=14),
            st.none() | ELEMENTS,
            block_id,
        ),
        st.builds(lambda pairs: fields_section(pairs), st.lists(st.tuples(texts(), texts()), max_size=12)),
        st.builds(lambda ts, b: context(*ts, block_id=b), st.lists(texts(), max_size=13), block_id),
        st.builds(lambda es, b: actions(*es, block_id=b), st.lists(ELEMENTS, max_size=28), block_id),
        st.builds(lambda b: divider(block_id=b), block_id),
        st.builds(lambda u, alt, b: image(u, alt, block_id=b), URLS, texts(), block_id),
        st.builds(
            lambda label, max_length, initial: input_block(
                label, plain_text_input("in", max_length=max_length, initial_value=initial)
            ),
            texts(),
            st.none() | st.integers(0, 4000),
            st.none() | texts(),
        ),
        st.builds(lambda n: input_block("Shot", file_input("f", max_files=n)), st.integers(0, 12)),
        st.sampled_from([{"type": "carousel"}, {"type": "section"}, {"type": "rich_text", "elements": []}]),
    )


@st.composite
def block_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Up to 200 blocks: a few drawn blocks repeated, so big payloads stay cheap to generate."""
    pattern = draw(st.lists(blocks(), min_size=1, max_size=5))
    count = draw(st.one_of(st.integers(0, 200), st.sampled_from([49, 50, 51, 99, 100, 101, 200])))
    return [copy.deepcopy(pattern[i % len(pattern)]) for i in range(count)]


@st.composite
def payloads(draw: st.DrawFn, surface: str) -> dict[str, Any]:
    if surface == "message":
        payload: dict[str, Any] = {"text": draw(texts())}
        if draw(st.booleans()) or not payload["text"]:
            payload["blocks"] = draw(block_lists())
        return payload
    payload = {"type": surface, "blocks": draw(block_lists())}
    if surface == "modal":
        payload["title"] = {"type": "plain_text", "text": draw(texts())}
        payload["callback_id"] = draw(IDS)
        if draw(st.booleans()):
            payload["submit"] = {"type": "plain_text", "text": draw(texts())}
    payload["private_metadata"] = draw(texts())
    return payload


def assert_fits(payload: dict[str, Any], surface: str) -> None:
    before = copy.deepcopy(payload)
    fitted = fit(payload, surface=surface, more_ref="ref")  # type: ignore[arg-type]
    assert check_payload(fitted, surface=surface) == []  # type: ignore[arg-type]
    assert payload == before
    if not check_payload(payload, surface=surface):  # type: ignore[arg-type]
        assert fitted == payload
    if isinstance(fitted.get("blocks"), list):
        kept = len(fitted["blocks"]) - trailer_count(fitted["blocks"])
        assert kept + left_out(fitted["blocks"]) == len(payload["blocks"])  # nothing vanishes silently


@PROPERTY_SETTINGS
@given(payloads("message"))
def test_fitted_message_always_passes(payload: dict[str, Any]) -> None:
    assert_fits(payload, "message")


@PROPERTY_SETTINGS
@given(payloads("modal"))
def test_fitted_modal_always_passes(payload: dict[str, Any]) -> None:
    assert_fits(payload, "modal")


@PROPERTY_SETTINGS
@given(payloads("home"))
def test_fitted_home_always_passes(payload: dict[str, Any]) -> None:
    assert_fits(payload, "home")


LINK_OR_ENTITY = re.compile(r"<[^<>\n]*>|&#?\w{1,8};")


@settings(max_examples=300, deadline=None, database=None)
@given(texts(), st.integers(0, 3100))
def test_truncate_text_keeps_a_whole_prefix(text: str, limit: int) -> None:
    cut = truncate_text(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
        return
    head = cut.removesuffix("```").removesuffix("…")
    assert text.startswith(head)
    end = len(head)
    for span in LINK_OR_ENTITY.finditer(text):
        assert not span.start() < end < span.end(), (span.group(0), end)
