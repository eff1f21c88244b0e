"""Triage in eight languages: screenshots and typed fragments per script, over one corpus of logged answers.

    python bench/triage.py --languages [--n 1000000] [--shots 25] [--fragments 50] [--seed 7]

Builds (once, cached in bench/out/) a SQLite corpus of ``--n`` logged requests whose answers are spread
evenly over English, Spanish, German, Chinese, Japanese, Korean, Thai and Arabic (bot/demo/languages.py).
Per language it triages ``--shots`` rendered screenshots (light/dark/compact styles, crops, JPEG, downscale)
through the whole pipeline, and ``--fragments`` typed quotes of 8-20 characters cut from inside an answer
and held by no other answer (checked over every stored answer). Prints top-1 / top-3 per script, image ->
card and matching p50/p95, and, on a sample of the same answers, the text index's size and indexing rate
with today's character-pair tokens against the word tokens it replaced.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.demo.languages import LANGUAGES, QUESTIONS, answer, fragment
from bot.demo.traffic import make_event
from bot.ingest.service import Writer, ingest
from bot.services import Services, build_services
from bot.triage.cards import outcome_card
from bot.triage.pipeline import triage_image, triage_query
from bot.triage.screenshot import crop_answer, downscale, render_chat, to_jpeg, to_png
from storage.texttokens import index_text

BATCH = 5000
OLD_TOKENIZER = "unicode61 remove_diacritics 2"
NEW_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"


def corpus_events(n: int, seed: int, now: Any) -> Any:
    """n events over the week before ``now``, each answering in the language its index picks."""
    from datetime import timedelta

    rng = random.Random(seed)
    for index in range(n):
        language = LANGUAGES[index % len(LANGUAGES)]
        event = make_event(rng, now - timedelta(seconds=rng.uniform(60, 7 * 86400)))
        event["request_id"] = f"req_{language}_{index:08d}"
        event["status"], event["finish_reason"] = "ok", "stop"
        event["response"] = answer(rng, language)
        event["prompt"]["messages"][-1]["content"] = QUESTIONS[language]
        yield event


def build_corpus(n: int, seed: int, out: Path, now: Any) -> Services:
    path = out / f"triage-languages-{n}-{seed}.db"
    fresh = not path.exists()
    out.mkdir(exist_ok=True)
    settings = load_settings(
        data_dir=out, database_url=f"sqlite:///{path}", config_file=out / "none.toml", scheduler=False
    )
    services = build_services(settings)
    if fresh:
        started = time.perf_counter()
        batch: list[dict[str, Any]] = []
        for event in corpus_events(n, seed, now):
            batch.append(event)
            if len(batch) == BATCH:
                ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=now)
                batch = []
        if batch:
            ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=now)
        print(f"built {n:,} requests in {time.perf_counter() - started:.0f} s -> {path}")
    started = time.perf_counter()
    indexed = services.db.text_index.catch_up() if services.db.text_index is not None else 0
    if indexed:
        print(f"text-indexed {indexed:,} answers in {time.perf_counter() - started:.0f} s")
    return services


def stored_answers(services: Services) -> list[tuple[str, str, str]]:
    """(request_id, response, question language) of every stored answer."""
    from sqlalchemy import text

    with services.db.session() as session:
        rows = session.execute(
            text("SELECT r.request_id, b.response FROM requests r JOIN request_bodies b ON b.id = r.id")
        ).all()
    return [(request_id, response, request_id.split("_")[1]) for request_id, response in rows if response]


def screenshot(rng: random.Random, index: int, response: str, language: str) -> bytes:
    style = ("light", "dark", "compact")[index % 3]
    image = render_chat(
        QUESTIONS[language] if rng.random() < 0.7 else None,
        response,
        style=style,
        width=rng.choice((560, 680, 800, 1000)),
        timestamp=None,
    )
    variant = index // 3 % 3
    if variant == 0:
        return to_png(crop_answer(image, rng.uniform(0.5, 0.8), from_end=rng.random() < 0.5))
    if variant == 1:
        return to_jpeg(image, rng.randint(55, 80))
    return to_png(downscale(image, rng.uniform(0.7, 0.85)))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def index_cost(responses: list[str]) -> dict[str, tuple[float, int]]:
    """(answers indexed per second, bytes) for the old word tokens and today's, on the same answers."""
    results: dict[str, tuple[float, int]] = {}
    for name, tokenizer, transform in (
        ("word tokens (before)", OLD_TOKENIZER, lambda s: s),
        ("character pairs (now)", NEW_TOKENIZER, index_text),
    ):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "index.db"
            conn = sqlite3.connect(path)
            conn.execute(f"CREATE VIRTUAL TABLE f USING fts5(response, content='', tokenize=\"{tokenizer}\")")
            started = time.perf_counter()
            for start in range(0, len(responses), BATCH):
                rows = [(start + i + 1, transform(r)) for i, r in enumerate(responses[start : start + BATCH])]
                conn.executemany("INSERT INTO f (rowid, response) VALUES (?, ?)", rows)
                conn.commit()
            elapsed = time.perf_counter() - started
            conn.close()
            results[name] = (len(responses) / elapsed, path.stat().st_size)
    return results


def run(n: int, shots: int, fragments: int, seed: int, out: Path, only: list[str] | None = None) -> None:
    from datetime import UTC, datetime

    from bot.triage.ocr import warm_up

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    services = build_corpus(n, seed, out, now)
    stored = stored_answers(services)
    haystack = "\x00".join(response for _, response, _ in stored)
    by_language: dict[str, list[tuple[str, str]]] = {}
    for request_id, response, language in stored:
        by_language.setdefault(language, []).append((request_id, response))
    rng = random.Random(seed + 1)
    warm_up()
    rows: list[str] = []
    totals: list[float] = []
    matches: list[float] = []
    typed_ms: list[float] = []
    for language in only or LANGUAGES:
        pool = by_language[language]
        shot_hits = [0, 0]
        index = 0
        while index < shots:
            request_id, response = rng.choice(pool)
            if haystack.count(response) != 1:
                continue
            index += 1
            started = time.perf_counter()
            outcome = triage_image(services, screenshot(rng, index, response, language), tenants=None, now=now)
            outcome_card(outcome).to_message()
            totals.append((time.perf_counter() - started) * 1000)
            matches.append(outcome.timings_ms["match"])
            ranked = [c.request.request_id for c in outcome.result.candidates]
            shot_hits[0] += ranked[:1] == [request_id]
            shot_hits[1] += request_id in ranked[:3]
        typed_hits = [0, 0]
        typed = 0
        while typed < fragments:
            request_id, response = rng.choice(pool)
            piece = fragment(rng, response, low=8, high=20).strip()
            if len(piece) < 8 or haystack.count(piece) != 1:
                continue
            typed += 1
            started = time.perf_counter()
            outcome = triage_query(services, f'"{piece}"', tenants=None, now=now)
            typed_ms.append((time.perf_counter() - started) * 1000)
            ranked = [c.request.request_id for c in outcome.result.candidates]
            typed_hits[0] += ranked[:1] == [request_id]
            typed_hits[1] += request_id in ranked[:3]
        rows.append(
            f"| {language} | {100 * shot_hits[0] / shots:.0f}% | {100 * shot_hits[1] / shots:.0f}% "
            f"| {100 * typed_hits[0] / fragments:.0f}% | {100 * typed_hits[1] / fragments:.0f}% |"
        )
        print(rows[-1], flush=True)
    print(f"\ncorpus {n:,} requests in {len(LANGUAGES)} languages; {shots} screenshots and {fragments} fragments each")
    print("| language | screenshot top-1 | top-3 | typed top-1 | top-3 |\n|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"image bytes -> card: p50 {pct(totals, 0.5):.0f} ms  p95 {pct(totals, 0.95):.0f} ms")
    print(f"matching (screenshots): p50 {pct(matches, 0.5):.0f} ms  p95 {pct(matches, 0.95):.0f} ms")
    print(f"typed quote -> card data: p50 {pct(typed_ms, 0.5):.0f} ms  p95 {pct(typed_ms, 0.95):.0f} ms")
    if only:
        services.close()
        return
    sample = [response for _, response, _ in stored[: min(len(stored), 100_000)]]
    for name, (rate, size) in index_cost(sample).items():
        print(f"text index, {name}: {rate:,.0f} answers/s, {size / len(sample):.0f} bytes per answer")
    services.close()
