"""/evals: the table per intent, divergence first, coverage gaps, open batches, the chart, scoping and errors."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from bot.app import create_app
from bot.config import ChannelsConfig, FileConfig
from bot.demo.server import BackgroundServer
from bot.errors import UserError
from bot.evals.command import COMMAND, Query, parse
from bot.evals.config import EvalsConfig
from bot.evals.labelling import start_batch
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest
from tests.evals.helpers import T0, event, feedback, log_requests, make_key, offline_run, thumbs
from tests.fake_slack import FakeSlack
from tests.slack_requests import send, slash_body

ACME_ROOM = "C0ACME001"


def _ask(services: Services, text: str = "", channel: str = "C0OPS0001", now: datetime = T0) -> CommandReply:
    return COMMAND.handler(services, CommandRequest("/evals", text, "U0ONCALL1", channel, now))


@pytest.fixture
def world(services: Services) -> Services:
    services.settings.file = FileConfig(
        evals=EvalsConfig(channel="C0LABEL01", items_per_intent=2),
        channels=ChannelsConfig(tenant_channels={ACME_ROOM: "acme"}),
    )
    start = T0 - timedelta(days=6)
    for intent in ("billing", "refunds", "shipping"):
        log_requests(
            services, [event(f"{intent}-{i}", start + timedelta(minutes=i), intent=intent) for i in range(100)]
        )
    log_requests(
        services, [event(f"g-{i}", start + timedelta(minutes=i), tenant="globex", intent="billing") for i in range(40)]
    )
    offline_run(services, "golden", start, {"billing": (46, 50), "refunds": (47, 50)})
    key = make_key(services)
    feedback(services, thumbs("billing", 100, 55, start + timedelta(hours=3)), key=key)
    feedback(services, thumbs("refunds", 100, 90, start + timedelta(hours=3)), key=key)
    feedback(services, [{**t, "tenant": "globex"} for t in thumbs("g", 40, 0, start + timedelta(hours=4))], key=key)
    start_batch(services, T0, seed=1)
    return services


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("", Query()),
        ("12w", Query(window="12w")),
        ("billing 4w", Query("billing")),
        ("12W refunds", Query("refunds", "12w")),
    ],
)
def test_parse_reads_words_in_any_order(text: str, query: Query) -> None:
    assert parse(text) == query


def test_parse_names_what_was_wrong() -> None:
    with pytest.raises(UserError, match="did not understand 'refunds'"):
        parse("billing refunds extra")


def test_table_divergence_coverage_and_open_batch(world: Services) -> None:
    reply = _ask(world)
    text = str(reply.card.blocks)
    assert reply.card.problems() == []
    assert text.index("billing") < text.index("refunds")  # the diverging intent first
    assert ":rotating_light: *billing*" in text and ":rotating_light: *refunds*" not in text
    assert "gap *+" in text and "(feedback)" in text
    assert "`shipping`: " in text and "no offline cases" in text  # the coverage gap
    assert "#1 from" in text and "0/6 labelled" in text  # the open batch
    image = Image.open(io.BytesIO(reply.uploads[0].content))
    assert image.format == "PNG" and image.size == (800, 360)


def test_a_tenant_channel_sees_only_its_tenant(world: Services) -> None:
    everyone = str(_ask(world, "billing").card.blocks)
    acme = str(_ask(world, "billing", channel=ACME_ROOM).card.blocks)
    assert "n=140" in everyone  # globex's 40 thumbs down count for the whole workspace
    assert "n=100" in acme and "n=140" not in acme and "tenant acme" in acme
    assert "#1 from" not in acme  # batches span tenants: not listed in a tenant's channel


def test_unknown_intent_and_empty_history_are_answered_plainly(world: Services, services: Services) -> None:
    with pytest.raises(UserError, match="Known intents: billing"):
        _ask(world, "nosuch")
    empty = _ask(world, now=T0 - timedelta(days=60))
    assert "No traffic, feedback, labels or offline results" in str(empty.card.blocks)


def test_evals_answers_a_signed_slash_command(slack_services: Services, fake_slack: FakeSlack) -> None:
    log_requests(slack_services, [event("r1", datetime.now(UTC) - timedelta(hours=1))], now=datetime.now(UTC))
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        response_url = fake_slack.new_response_url()
        assert send(server.url, slash_body("/evals", "12w", response_url=response_url)).status_code == 200
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (fake_slack.responses(response_url) and fake_slack.uploads()):
            time.sleep(0.05)
    [answer] = fake_slack.responses(response_url)
    assert answer.body["response_type"] == "ephemeral" and "Evals · all intents · 12w" in answer.body["text"]
    assert fake_slack.uploads()[0].filename == "evals-all-12w.png"
