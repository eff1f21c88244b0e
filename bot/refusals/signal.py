"""The refusal decision taken once per event at ingest, stored with the rule that made it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.refusals.classify import RefusalPatterns, classify

if TYPE_CHECKING:
    from bot.ingest.schema import EventIn

NO_ANSWER_RULE = "no_answer"
"""An error or timeout without a response, flag or refusal finish_reason: nothing to judge, stored as NULL."""


def refusal_verdict(event: EventIn, patterns: RefusalPatterns) -> tuple[bool | None, str]:
    """Decide `refused` for one event (client flag, then finish_reason, then text), so rates split by rule later."""
    if event.refused is None and not event.response and event.status != "ok":
        verdict = classify(refused=None, finish_reason=event.finish_reason, text=None, patterns=patterns)
        return (True, verdict.rule) if verdict.refused else (None, NO_ANSWER_RULE)
    verdict = classify(refused=event.refused, finish_reason=event.finish_reason, text=event.response, patterns=patterns)
    return verdict.refused, verdict.rule[:64]


def patterns_from_config(extra: list[str], disable: list[str]) -> RefusalPatterns:
    """The compiled pattern set for this deployment: the maintained default unless the config changes it."""
    if not extra and not disable:
        return RefusalPatterns.default()
    return RefusalPatterns.from_config(extra, disable)
