"""Logged answers in every script the product answers in, for the search and screenshot tests."""

from __future__ import annotations

import random
from datetime import timedelta

from bot.demo.languages import LANGUAGES, QUESTIONS, answer
from bot.demo.traffic import make_event
from bot.ingest.service import Writer, ingest
from bot.services import Services
from tests.triage.corpus import NOW

ISSUE_ANSWER = "解約のお手続きは完了しました。料金来週解約反映日割り解約の順で精算され、明細は翌月にお送りします。"


def build_multilingual(services: Services) -> dict[str, list[dict]]:
    """Forty logged answers per language (one tenant each pair of languages), plus the issue's Japanese answer."""
    rng = random.Random(22)
    by_language: dict[str, list[dict]] = {}
    events = []
    for i, language in enumerate(LANGUAGES):
        mine = []
        for j in range(40):
            event = make_event(rng, NOW - timedelta(minutes=3 * (40 * i + j) + 1), tenant=("acme", "globex")[i % 2])
            event["request_id"] = f"req_{language}_{j:03d}"
            event["response"] = answer(rng, language)
            event["prompt"]["messages"][-1]["content"] = QUESTIONS[language]
            mine.append(event)
        by_language[language] = mine
        events += mine
    special = make_event(rng, NOW - timedelta(hours=30), tenant="acme")
    special["request_id"] = "req_issue_ja"
    special["response"] = ISSUE_ANSWER
    events.append(special)
    by_language["issue"] = [special]
    ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=NOW)
    return by_language
