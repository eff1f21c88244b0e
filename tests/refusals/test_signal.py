"""The refusal decision at ingest: which rule decides, what is stored, and the configurable patterns."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import ConfigError, load_file_config
from bot.ingest.schema import EventIn
from bot.refusals.classify import RefusalPatterns
from bot.refusals.signal import NO_ANSWER_RULE, patterns_from_config, refusal_verdict
from bot.services import Services
from storage.models import LLMRequest, RollupMinute
from tests.refusals.helpers import T0, event, send

FILTERED = "finish_reason:content_filter"
DECLINE = "I'm sorry, but I can't help with that request."


def verdict(**fields: object) -> tuple[bool | None, str]:
    return refusal_verdict(EventIn.model_validate(event(T0, 1, **fields)), RefusalPatterns.default())


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"refused": True, "response": "Sure, here it is."}, (True, "client_flag")),
        ({"refused": False, "response": DECLINE}, (False, "client_flag")),
        ({"finish_reason": "content_filter", "response": None}, (True, "finish_reason:content_filter")),
        ({"finish_reason": "SAFETY"}, (True, "finish_reason:safety")),
        ({"finish_reason": "FinishReason.SAFETY"}, (True, "finish_reason:safety")),
        ({"finish_reason": "FINISH_REASON_RECITATION"}, (True, "finish_reason:recitation")),
        ({"finish_reason": "refusal"}, (True, "finish_reason:refusal")),
        ({"finish_reason": "guardrail_intervened"}, (True, "finish_reason:guardrail_intervened")),
        # Gateways that map refusals to "stop": the text decides.
        ({"finish_reason": "stop", "response": DECLINE}, (True, "pattern:cannot_help")),
        ({"finish_reason": "end_turn", "response": DECLINE}, (True, "pattern:cannot_help")),
        ({"finish_reason": "length", "response": "Open Settings > Billing."}, (False, "none")),
        ({"finish_reason": None, "response": None}, (False, "none")),
        # A failed call without an answer says nothing about refusals: stored as unknown, not as "answered".
        ({"status": "error", "response": None, "finish_reason": None}, (None, NO_ANSWER_RULE)),
        ({"status": "timeout", "response": None, "finish_reason": "content_filter"}, (True, FILTERED)),
    ],
)  # fmt: skip
def test_rule_order_and_finish_reason_mappings(fields: dict, expected: tuple[bool | None, str]) -> None:
    assert verdict(**fields) == expected


def test_long_unknown_rule_fits_the_column() -> None:
    refused, rule = verdict(finish_reason="x" * 64, response=DECLINE)
    assert refused is True and len(rule) <= 64


def test_ingest_stores_the_verdict_and_counts_it_in_rollups(services: Services) -> None:
    send(
        services,
        [
            event(T0, 1, response=DECLINE),
            event(T0, 2, finish_reason="content_filter", response=None),
            event(T0, 3),
            event(T0, 4, refused=True),
            event(T0, 5, status="error", response=None, finish_reason=None),
        ],
        now=T0 + timedelta(minutes=1),
    )
    with services.db.session() as session:
        rows = {r.request_id: (r.refused, r.refusal_rule) for r in session.exec(select(LLMRequest))}
        refusals = sum(r.refusals for r in session.exec(select(RollupMinute)))
    prefix = f"req_{int(T0.timestamp())}_"
    assert rows == {
        f"{prefix}1": (True, "pattern:cannot_help"),
        f"{prefix}2": (True, "finish_reason:content_filter"),
        f"{prefix}3": (False, "none"),
        f"{prefix}4": (True, "client_flag"),
        f"{prefix}5": (None, NO_ANSWER_RULE),
    }
    assert refusals == 3


def test_config_adds_and_disables_patterns(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text('[refusals]\nextra_patterns = ["^we do not discuss pricing"]\ndisable_patterns = ["cannot_help"]\n')
    cfg = load_file_config(path)
    patterns = patterns_from_config(cfg.refusals.extra_patterns, cfg.refusals.disable_patterns)
    assert "extra_1" in patterns.names and "cannot_help" not in patterns.names
    answer = EventIn.model_validate(event(T0, 1, response="We do not discuss pricing here."))
    assert refusal_verdict(answer, patterns) == (True, "pattern:extra_1")
    assert refusal_verdict(EventIn.model_validate(event(T0, 2, response=DECLINE)), patterns)[1] != "pattern:cannot_help"
    assert patterns_from_config([], []) is RefusalPatterns.default()


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[refusals]\nextra_patterns = ["(unclosed"]\n', "not a valid regex"),
        ('[refusals]\ndisable_patterns = ["no_such_rule"]\n', "no_such_rule"),
        ("[refusals]\nextra = []\n", "refusals.extra"),
    ],
)
def test_bad_refusal_config_names_the_problem(tmp_path: Path, toml: str, named: str) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match="refusals") as err:
        load_file_config(path)
    assert named in str(err.value)
