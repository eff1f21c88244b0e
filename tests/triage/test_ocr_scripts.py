"""Screenshots in every script, drawn with real fonts, read offline and matched to the logged request."""

from __future__ import annotations

import random

import pytest

from bot.demo.languages import LANGUAGES, QUESTIONS
from bot.services import Services
from bot.triage import ocr
from bot.triage.pipeline import triage_image
from bot.triage.scripts import script_of
from tests.triage.corpus import NOW
from tests.triage.multilingual import build_multilingual
from tests.triage.render import render_chat, to_png


@pytest.fixture(scope="module")
def answers_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Services, dict[str, list[dict]]]:
    from bot.config import load_settings
    from bot.services import build_services

    root = tmp_path_factory.mktemp("ocr-scripts")
    settings = load_settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root}/afterlaunch.db",
        config_file=root / "afterlaunch.toml",
        secret_key="test-secret-key-for-hashing",
        scheduler=False,
    )
    services = build_services(settings)
    return services, build_multilingual(services)


def test_every_script_the_product_answers_in_has_a_reader() -> None:
    assert ocr.other_scripts() == {"hangul", "thai", "arabic"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("style", ["light", "compact"])
def test_a_screenshot_in_each_script_finds_its_request(
    answers_sqlite: tuple[Services, dict[str, list[dict]]], language: str, style: str
) -> None:
    services, answers = answers_sqlite
    target = random.Random(f"{language}{style}").choice(answers[language])
    image = render_chat(QUESTIONS[language], target["response"], style=style, width=820)
    outcome = triage_image(services, to_png(image), tenants=None, now=NOW)
    assert outcome.read is not None and script_of(outcome.read.answer) == script_of(target["response"])
    assert outcome.best is not None, outcome.read.answer
    assert outcome.best.request.request_id == target["request_id"], outcome.read.answer


def test_an_english_screenshot_never_calls_the_other_reader(
    answers_sqlite: tuple[Services, dict[str, list[dict]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, answers = answers_sqlite
    called: list[int] = []
    monkeypatch.setattr(ocr.ocr_scripts, "read_unread", lambda *args: called.append(1) or [])
    for style in ("light", "dark", "compact"):
        target = answers["en"][0]
        image = render_chat(QUESTIONS["en"], target["response"], style=style, width=820)
        outcome = triage_image(services, to_png(image), tenants=None, now=NOW)
        assert outcome.best is not None and outcome.best.request.request_id == target["request_id"]
    assert called == []


def test_korean_syllables_cut_apart_by_the_reader_join_up_again() -> None:
    from bot.triage.ocr_scripts import _join_lone_syllables

    assert _join_lone_syllables("끝자리 5856 카 드 로 5 영 업 일 이내에") == "끝자리 5856 카드로 5 영업일 이내에"
    assert _join_lone_syllables("주문 834367 의 환불") == "주문 834367 의 환불"  # a particle after a number stays
    assert _join_lone_syllables("추가 좌석은 월 10.5") == "추가 좌석은 월 10.5"  # so does a word after a word
