"""Matching on both databases: ids with OCR confusions, noisy and cropped text, near-duplicates, tenant scoping."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.errors import UserError
from bot.services import Services
from bot.triage.hints import choose_phrases, id_variants, time_hint, words
from bot.triage.pipeline import triage_query, triage_request_id, triage_text
from tests.triage.corpus import NOW, build


def noisy(text: str, rate: float, seed: int = 1) -> str:
    """OCR-like noise: a few characters swapped for look-alikes or dropped."""
    rng = random.Random(seed)
    swaps = {"o": "0", "l": "1", "e": "c", "a": "o", "i": "l", "n": "m", "s": "5"}
    out = []
    for char in text:
        if char in swaps and rng.random() < rate:
            out.append(swaps[char])
        elif char == " " and rng.random() < rate / 3:
            continue
        else:
            out.append(char)
    return "".join(out)


@pytest.fixture
def llamas(services: Services) -> list[dict]:
    return build(services)


def test_noisy_full_answer_finds_the_row_among_near_duplicates(services: Services, llamas: list[dict]) -> None:
    for target in llamas[:6]:
        outcome = triage_text(services, noisy(target["response"], 0.03), tenants=None, now=NOW)
        assert outcome.best is not None
        assert outcome.best.request.request_id == target["request_id"]
        assert outcome.kind == "match"
        assert outcome.triple is not None and outcome.triple.question is not None


def test_crop_of_part_of_the_answer_with_a_line_wrap(services: Services, llamas: list[dict]) -> None:
    target = llamas[3]
    crop = target["response"][:110].replace(" for order", "\nfor order")
    outcome = triage_text(services, crop, tenants=None, now=NOW)
    assert outcome.best is not None and outcome.best.request.request_id == target["request_id"]


def test_id_lookup_tolerates_ocr_confusions_and_is_scoped(services: Services, llamas: list[dict]) -> None:
    target = next(e for e in llamas if e["tenant"] == "acme")
    misread = target["request_id"].replace("l", "1").replace("0", "O")
    outcome = triage_request_id(services, misread, tenants=None, now=NOW)
    assert outcome.kind == "match" and outcome.best is not None
    assert outcome.best.request.request_id == target["request_id"]
    hidden = triage_request_id(services, target["request_id"], tenants={"globex"}, now=NOW)
    assert hidden.kind == "not_found" and hidden.result.candidates == []


def test_a_channel_of_one_tenant_never_sees_another_tenants_request(services: Services, llamas: list[dict]) -> None:
    acme = next(e for e in llamas if e["tenant"] == "acme")
    scoped = triage_text(services, acme["response"], tenants={"globex"}, now=NOW)
    assert all(c.request.tenant == "globex" for c in scoped.result.candidates)
    assert acme["request_id"] not in [c.request.request_id for c in scoped.result.candidates]
    if scoped.blast is not None:
        assert all(count.tenants <= 1 for _, count in scoped.blast.windows)
    mine = triage_text(services, acme["response"], tenants={"acme"}, now=NOW)
    assert mine.best is not None and mine.best.request.request_id == acme["request_id"]


def test_blast_radius_counts_the_template_on_the_same_version_and_model(services: Services, llamas: list[dict]) -> None:
    outcome = triage_text(services, llamas[0]["response"], tenants=None, now=NOW)
    assert outcome.blast is not None
    day, week = (count for _, count in outcome.blast.windows)
    assert week.requests == len(llamas)
    assert week.tenants == 2
    assert week.users == len({(e["tenant"], e["user_id"]) for e in llamas})
    recent = [e for e in llamas if e["timestamp"] >= (NOW - timedelta(hours=24)).isoformat().replace("+00:00", "Z")]
    assert day.requests == len(recent) and day.users == len({(e["tenant"], e["user_id"]) for e in recent})
    acme_only = triage_text(services, llamas[1]["response"], tenants={"acme"}, now=NOW)
    assert acme_only.blast is not None
    assert acme_only.blast.windows[-1][1].requests == len([e for e in llamas if e["tenant"] == "acme"])
    assert acme_only.blast.windows[-1][1].tenants == 1


def test_identical_answers_are_unsure_with_the_top_three(services: Services, llamas: list[dict]) -> None:
    outcome = triage_text(
        services, "Please note that llamas cannot be returned once they have been named.", tenants=None, now=NOW
    )
    assert outcome.kind == "unsure"
    assert len(outcome.result.candidates) >= 3


def test_phrases_too_common_to_list_still_narrow_to_the_row(
    services: Services, llamas: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a million rows most phrases are held by thousands; here 40 llamas make every template phrase 'common'."""
    from bot.triage import match

    monkeypatch.setattr(match, "PHRASE_ROWS", 5)
    monkeypatch.setattr(match, "CANDIDATES", 10)
    sentence = "Please note that llamas cannot be returned once they have been named."
    shared = triage_text(services, sentence, tenants=None, now=NOW)
    assert shared.kind == "unsure" and len(shared.result.candidates) >= 3
    for target in llamas[:3]:
        outcome = triage_text(services, noisy(target["response"], 0.03), tenants=None, now=NOW)
        assert outcome.best is not None and outcome.best.request.request_id == target["request_id"]


def test_unknown_text_is_not_found_and_bad_queries_are_refused(services: Services, llamas: list[dict]) -> None:
    outcome = triage_query(services, '"zebra quantum marmalade over seventeen violins"', tenants=None, now=NOW)
    assert outcome.kind == "not_found"
    with pytest.raises(UserError, match="at most"):
        triage_text(services, "word " * 2000, tenants=None, now=NOW)
    with pytest.raises(UserError, match="what the AI said"):
        triage_text(services, "   ", tenants=None, now=NOW)


def test_index_keeps_up_with_ingestion(services: Services, llamas: list[dict]) -> None:
    from bot.ingest.service import Writer, ingest
    from tests.triage.corpus import weird_event

    fresh = weird_event(random.Random(99), 9999, tenant="acme", ts=NOW - timedelta(minutes=1))
    ingest(services.db, [fresh], cfg=services.ingest, writer=Writer(None, None), now=NOW)
    outcome = triage_text(services, fresh["response"], tenants=None, now=NOW)
    assert outcome.best is not None and outcome.best.request.request_id == fresh["request_id"]


def test_phrases_skip_words_no_response_contains() -> None:
    tokens = words("refund of $45.12 for order A12345 qzxv")
    counts = {"refund": 50, "of": 900, "45": 3, "12": 40, "for": 900, "order": 60, "a12345": 1, "qzxv": 0}
    phrases = choose_phrases(tokens, counts, limit=3)
    assert phrases[0] == "order a12345"
    assert all("qzxv" not in p for p in phrases)


def test_id_variants_and_time_hints() -> None:
    assert set(id_variants("req_O1")) >= {"req_O1", "req_01", "req_Ol", "req_0I"}
    hint = time_hint(["Nov 25, 2026 at 10:42 AM"], NOW)
    assert hint.minute == 42 and hint.since is not None and hint.since.day == 24
    assert time_hint(["10:42 AM"], NOW).since is None


def test_word_counts_are_exact_below_the_sample_and_scaled_up_above(services: Services, llamas: list[dict]) -> None:
    from storage import triage as store

    services.db.searchable()
    with services.db.session() as session:
        if session.get_bind().dialect.name != "sqlite":
            assert store.count_terms(session=session, terms=["llama"], sample=5) is None
            return
        exact = store.count_terms(session=session, terms=["the", "llama", "qzxv"], sample=1000)
        sampled = store.count_terms(session=session, terms=["the", "llama", "qzxv"], sample=20)
    assert exact is not None and sampled is not None
    assert exact["llama"] == len(llamas) and exact["qzxv"] == sampled["qzxv"] == 0
    # "the" is spread over the whole corpus, so scaling up its newest 20 rows lands near the truth.
    assert exact["the"] > 20 and exact["the"] / 2 <= sampled["the"] <= exact["the"] * 2, (exact, sampled)
    # The llama answers are the newest rows: a recent burst reads as common, never as rarer than seen.
    assert sampled["llama"] >= exact["llama"]
