"""/audit isolation from Slack: responders only, configured targets only, the report as a card."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.cards.limits import check_payload
from bot.config import Settings
from bot.leaks.command import COMMAND
from bot.leaks.config import AuditConfig, AuditTarget
from bot.services import build_services
from bot.slack.registry import CommandRequest, run_command
from tests.leaks.sample_service import Feature, serve

TEMPLATE = Path(__file__).parent / "template.toml"


def _ask(settings: Settings, url: str, text: str, user: str = "U0RESP001") -> str:
    file = settings.file.model_copy(
        update={
            "access": {"responders": ["U0RESP001"]},
            "audit": AuditConfig(targets={"assistant": AuditTarget(url=url, template=TEMPLATE, rounds=1)}),
        }
    )
    services = build_services(settings.model_copy(update={"file": file}))
    try:
        request = CommandRequest(
            command="/audit", text=text, user_id=user, channel_id="C0OPS0001", now=datetime.now(UTC)
        )
        reply = run_command(services, COMMAND, request)
    finally:
        services.close()
    assert check_payload({"blocks": reply.card.blocks}, surface="message") == []
    return "\n".join(str(b) for b in reply.card.blocks)


def test_a_leaky_target_posts_a_crossover_card(settings: Settings) -> None:
    with serve(Feature(leaky_cache=True)) as url:
        card = _ask(settings, url, "isolation assistant")
    assert "crossover found" in card and "same question" in card


def test_a_fixed_target_posts_a_clean_card(settings: Settings) -> None:
    with serve(Feature()) as url:
        card = _ask(settings, url, "isolation assistant")
    assert "Isolation audit: clean" in card


def test_only_responders_may_run_it(settings: Settings) -> None:
    with serve(Feature()) as url:
        card = _ask(settings, url, "isolation assistant", user="U0OTHER01")
    assert "'responders' access" in card


def test_unknown_target_and_bad_usage_say_what_is_known(settings: Settings) -> None:
    with serve(Feature()) as url:
        assert "no audit target 'nope'; known: assistant" in _ask(settings, url, "isolation nope")
        assert "usage: `/audit isolation <target>`" in _ask(settings, url, "launch")
