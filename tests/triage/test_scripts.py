"""Triage in every script the product answers in: folding, character pairs, and fragments found on both databases."""

from __future__ import annotations

import random

import pytest

from bot.demo.languages import LANGUAGES, fragment
from bot.services import Services
from bot.triage.hints import normal
from bot.triage.pipeline import triage_query
from storage.texttokens import fold, index_text, like_pattern, tokens, words
from tests.triage.corpus import NOW
from tests.triage.multilingual import build_multilingual


def test_folding_matches_what_people_type_and_what_ocr_reads() -> None:
    assert fold("ＡＢＣ１２３") == "abc123"  # full-width forms
    assert fold("ｶﾀｶﾅ") == "カタカナ"  # half-width katakana
    assert fold("Año STRASSE straße") == "ano strasse strasse"
    assert fold("결제") == "결제"  # Hangul stays composed
    assert fold("กิน") == "กิน"  # Thai vowel signs are spelling, not accents
    assert fold("بِكُم") == "بكم"  # Arabic short vowels are optional marks


def test_spaceless_runs_become_overlapping_pairs_and_back() -> None:
    assert tokens("金来週解") == ["金来", "来週", "週解"]
    assert tokens("Proプラン") == ["pro", "プラ", "ラン"]
    assert tokens("สวัสดี") == ["สว", "วั", "ัส", "สด", "ดี"]
    assert tokens("Hello, world") == ["hello", "world"]
    assert words("金来週解 ok") == ["金来週解", "ok"]
    assert like_pattern("金来 来週") == "%金来週%"
    assert like_pattern("결제 수단") == "%결제%수단%"
    assert like_pattern("100% 金来") == "%100\\%%金来%"
    assert index_text("plain ascii stays") == "plain ascii stays"


def test_fuzzy_comparison_reads_spaceless_text_by_character() -> None:
    assert normal("料金来週、解約。") == "料金来週 解約"
    assert normal("Hola, ¿qué tal?") == "hola que tal"


@pytest.fixture
def answers(services: Services) -> dict[str, list[dict]]:
    return build_multilingual(services)


def _unique_fragment(rng: random.Random, target: str, others: list[str]) -> str:
    for _ in range(500):
        piece = fragment(rng, target, low=8, high=20).strip()
        if len(piece) >= 8 and not any(piece in other for other in others):
            return piece
    raise AssertionError(f"no unique fragment in {target!r}")


def test_the_issues_japanese_fragment_is_found(services: Services, answers: dict[str, list[dict]]) -> None:
    outcome = triage_query(services, '"金来週解約反映日割り解約"', tenants=None, now=NOW)
    assert outcome.kind == "match" and outcome.best is not None
    assert outcome.best.request.request_id == "req_issue_ja"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_typed_fragment_from_inside_an_answer_finds_it(
    services: Services, answers: dict[str, list[dict]], language: str
) -> None:
    rng = random.Random(language)
    everything = [e["response"] for group in answers.values() for e in group]
    for target in rng.sample(answers[language], 5):
        piece = _unique_fragment(rng, target["response"], [r for r in everything if r != target["response"]])
        outcome = triage_query(services, f'"{piece}"', tenants=None, now=NOW)
        assert outcome.best is not None, piece
        assert outcome.best.request.request_id == target["request_id"], piece
        assert outcome.kind == "match", piece


def test_a_fragment_stays_inside_the_channels_tenant(services: Services, answers: dict[str, list[dict]]) -> None:
    target = next(e for e in answers["zh"] if e["tenant"] == "globex")
    rng = random.Random(3)
    everything = [e["response"] for group in answers.values() for e in group if e is not target]
    piece = _unique_fragment(rng, target["response"], everything)
    hidden = triage_query(services, f'"{piece}"', tenants={"acme"}, now=NOW)
    assert all(c.request.tenant == "acme" for c in hidden.result.candidates)
    assert hidden.kind != "match" or hidden.best is None or hidden.best.request.request_id != target["request_id"]
    shown = triage_query(services, f'"{piece}"', tenants={"globex"}, now=NOW)
    assert shown.best is not None and shown.best.request.request_id == target["request_id"]
