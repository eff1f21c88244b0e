"""The whole pipeline on images the tests render, read by the real OCR engine, on both databases."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from bot.cards.limits import check_payload
from bot.services import Services
from bot.triage import cards
from bot.triage.images import ImageRejected
from bot.triage.match import MatchResult
from bot.triage.ocr import OcrLine, read_text
from bot.triage.pipeline import TriageOutcome, triage_image, triage_text
from tests.triage.corpus import NOW, build, corpus
from tests.triage.render import crop_answer, downscale, render_chat, to_jpeg, to_png

_, LLAMAS = corpus()
SHARED = "Please note that llamas cannot be returned once they have been named."


def _question(event: dict) -> str:
    return event["prompt"]["messages"][-1]["content"]


def _images() -> dict[str, tuple[bytes, str | None]]:
    """name -> (image bytes, the request id it shows the answer of; None when it matches nothing logged)."""
    a, b, c, d = LLAMAS[2], LLAMAS[5], LLAMAS[8], LLAMAS[11]
    return {
        "dark_png": (to_png(render_chat(_question(a), a["response"], style="dark")), a["request_id"]),
        "light_jpeg_q60": (to_jpeg(render_chat(_question(b), b["response"], style="light"), 60), b["request_id"]),
        "compact_downscaled_0.7": (
            to_png(downscale(render_chat(_question(c), c["response"], style="compact"), 0.7)),
            c["request_id"],
        ),
        "light_crop": (to_png(crop_answer(render_chat(None, d["response"], style="light"), 0.6)), d["request_id"]),
        "unknown_answer": (
            to_png(render_chat("Hi", "Our zebra orchestra rehearses quantum marmalade on Tuesdays.", style="light")),
            None,
        ),
        "shared_sentence": (to_png(render_chat(None, SHARED, style="dark")), None),
    }


IMAGES = _images()


@pytest.fixture(scope="module")
def ocr_lines() -> dict[str, list[OcrLine]]:
    """The real engine reads each image once; both databases then match what it read."""
    from bot.triage.images import load_image

    return {name: read_text(load_image(data)) for name, (data, _) in IMAGES.items()}


def _reader(lines: list[OcrLine]) -> Callable[[Image.Image], list[OcrLine]]:
    return lambda image: lines


@pytest.mark.parametrize("name", ["dark_png", "light_jpeg_q60", "compact_downscaled_0.7", "light_crop"])
def test_screenshot_finds_its_request(services: Services, ocr_lines: dict, name: str) -> None:
    build(services)
    data, expected = IMAGES[name]
    outcome = triage_image(services, data, tenants=None, now=NOW, reader=_reader(ocr_lines[name]))
    assert outcome.best is not None, outcome.read
    assert outcome.best.request.request_id == expected
    assert outcome.kind == "match"
    card = cards.outcome_card(outcome)
    assert card.problems() == []
    text = str(card.to_message())
    assert expected in text and "Blast radius" in text
    for body_text in ("galactic refund", "where is my refund", "you are the help assistant"):
        assert body_text not in text.lower(), "the channel card must not carry answer or prompt bodies"
    assert outcome.triple is not None and outcome.triple.request.user_hash not in text


def test_unknown_answer_is_not_found_and_shows_the_text_read(services: Services, ocr_lines: dict) -> None:
    build(services)
    data, _ = IMAGES["unknown_answer"]
    outcome = triage_image(services, data, tenants=None, now=NOW, reader=_reader(ocr_lines["unknown_answer"]))
    assert outcome.kind == "not_found"
    card = cards.outcome_card(outcome)
    assert card.problems() == []
    assert "marmalade" in str(card.to_message()) and '/triage \\"' not in str(card.to_message())


def test_ambiguous_answer_offers_the_top_three_to_pick(services: Services, ocr_lines: dict) -> None:
    build(services)
    data, _ = IMAGES["shared_sentence"]
    outcome = triage_image(services, data, tenants=None, now=NOW, reader=_reader(ocr_lines["shared_sentence"]))
    assert outcome.kind == "unsure"
    card = cards.outcome_card(outcome)
    assert card.problems() == []
    picks = [
        block["accessory"] for block in card.blocks if block.get("accessory", {}).get("action_id") == cards.PICK_ACTION
    ]
    assert len(picks) == 3
    assert "score" in str(card.to_message())


def test_tenant_scoped_screenshot_never_shows_the_other_tenant(services: Services, ocr_lines: dict) -> None:
    build(services)
    data, expected = IMAGES["dark_png"]
    owner = next(e["tenant"] for e in LLAMAS if e["request_id"] == expected)
    other = "acme" if owner == "globex" else "globex"
    outcome = triage_image(services, data, tenants={other}, now=NOW, reader=_reader(ocr_lines["dark_png"]))
    assert all(c.request.tenant == other for c in outcome.result.candidates)


def test_real_ocr_on_the_full_path_once(services: Services) -> None:
    build(services)
    data, expected = IMAGES["light_jpeg_q60"]
    outcome = triage_image(services, data, tenants=None, now=NOW)
    assert outcome.best is not None and outcome.best.request.request_id == expected
    assert outcome.timings_ms["ocr"] > 0 and outcome.timings_ms["total"] >= outcome.timings_ms["ocr"]


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 not a screenshot", "PDF"),
        (b"x" * (11 * 1024 * 1024), "limit is 10 MB"),
        (_png((9000, 9000)), "megapixels"),
    ],
    ids=["non-image", "oversized", "decompression-bomb"],
)
def test_bad_uploads_are_refused_before_reading(services: Services, data: bytes, message: str) -> None:
    def never(image: Image.Image) -> list[OcrLine]:
        raise AssertionError("OCR must not run on a refused upload")

    with pytest.raises(ImageRejected, match=message):
        triage_image(services, data, tenants=None, now=NOW, reader=never)


def test_cards_fit_slack_with_20000_character_inputs(services: Services) -> None:
    build(services)
    huge = "word " * 4000
    read = TriageOutcome("not_found", MatchResult(), None, query=huge)
    assert cards.outcome_card(read).problems() == []
    outcome = triage_text(services, LLAMAS[0]["response"], tenants=None, now=NOW)
    assert outcome.triple is not None
    triple = outcome.triple
    big = type(triple)(
        request=triple.request,
        system=huge,
        turns=[("user", huge)] * 10,
        question=huge,
        docs=triple.docs * 5,
        response=huge,
        change=triple.change,
        labels={},
        body_purged=False,
    )
    assert cards.full_card(big).problems() == []
    for payload in (cards.full_card(big).to_message(), cards.outcome_card(outcome).to_message()):
        assert check_payload(payload, surface="message") == []
    assert check_payload(cards.upload_modal("C0AIOPS01"), surface="modal") == []
