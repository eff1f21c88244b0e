"""/refusals: parsing, rates against the baseline, why, model-change markers, and the chart."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import matplotlib.image
import pytest

from bot.errors import UserError
from bot.refusals import models_seen
from bot.refusals.command import COMMAND, Query, parse
from bot.scope import ALL_TENANTS
from bot.services import Services
from bot.slack.commands import all_commands
from bot.slack.registry import CommandReply, CommandRequest, run_command
from tests.refusals.helpers import T0, event, send, write_traffic

CHANGE = T0 - timedelta(hours=3)
NEW_MODEL = "gpt-4o-mini-2026-11-20"


def ask(services: Services, text: str) -> CommandReply:
    return COMMAND.handler(services, CommandRequest("/refusals", text, "U0ONCALL", "C0OPS", T0, scope=ALL_TENANTS))


def section_text(reply: CommandReply) -> str:
    return "\n".join(block["text"]["text"] for block in reply.card.blocks if block["type"] == "section")


def rate_lines(reply: CommandReply) -> dict[str, str]:
    rows = section_text(reply).split("*Model snapshots")[0]
    return {line.split("`")[1]: line for line in rows.splitlines() if line.startswith("• `")}


@pytest.fixture
def traffic(services: Services) -> Services:
    start = T0 - timedelta(days=8)
    write_traffic(services, start=start, end=CHANGE, per_hour=400, rate=lambda t: 0.02, seed=1, category="billing")
    write_traffic(
        services, start=CHANGE, end=T0, per_hour=400, rate=lambda t: 0.06, seed=2, category="billing", model=NEW_MODEL
    )
    write_traffic(services, start=start, end=T0, per_hour=300, rate=lambda t: 0.03, seed=3, category="account")
    send(services, [event(T0 - timedelta(days=1), 1)], T0 - timedelta(days=1))
    models_seen.scan(services, T0 - timedelta(days=1) + timedelta(minutes=5))
    refusal = "I'm sorry, but I can't help with that."
    send(
        services,
        [
            event(CHANGE + timedelta(minutes=1), 2, model=NEW_MODEL, system_fingerprint="fp_new", response=refusal),
            event(CHANGE + timedelta(minutes=2), 3, model=NEW_MODEL, finish_reason="content_filter", response=None),
        ],
        CHANGE,
    )
    models_seen.scan(services, T0)
    return services


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("", Query(None, "24h", "category")),
        ("billing", Query("billing", "24h", "model")),
        ("billing 7d by tenant", Query("billing", "7d", "tenant")),
        ("by prompt_version 1h", Query(None, "1h", "prompt_version")),
        ("1H BY Model billing", Query("billing", "1h", "model")),
    ],
)
def test_parse_reads_words_in_any_order(text: str, query: Query) -> None:
    assert parse(text) == query


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("by", "`by` takes one of category, model, prompt_version, tenant, not nothing"),
        ("billing by cost", "not 'cost'"),
        ("billing account", "did not understand 'account'"),
        ("billing 30d", "did not understand '30d'"),
        ("x" * 20_000, "did not understand"),
    ],
)
def test_parse_names_what_was_wrong(text: str, message: str) -> None:
    with pytest.raises(UserError, match="Usage") as err:
        parse(text)
    assert message in err.value.message


def test_registered_as_a_slash_command() -> None:
    assert COMMAND in all_commands()


def test_rates_per_category_with_baseline_change_and_volume(traffic: Services) -> None:
    reply = ask(traffic, "")
    text = section_text(reply)
    assert reply.card.blocks[0]["text"]["text"] == "Refusals · all categories · 24h by category"
    lines = rate_lines(reply)
    assert set(lines) == {"billing", "account"}
    # billing: 2% before, 6% for the last 3 of 24 hours -> about 2.5% over the day, baseline 2.0%, about 1.25x.
    assert re.search(
        r"\*2\.\d%\* \(\d\.\d%-\d\.\d%\) of 9,\d{3} · baseline [12]\.\d% · \*1\.\d\dx\*$", lines["billing"]
    )
    assert re.search(r"of 7,\d{3} · baseline [23]\.\d% · \*[01]\.\d\dx\*$", lines["account"])
    assert "Refused share (95% CI) of requests in the last 24h, against the 7 days before" in text
    assert f"`{NEW_MODEL} fp_new` at <!date^" in text  # the model change in the window
    assert "`pattern:cannot_help` 1" in text and "`finish_reason:content_filter` 1" in text
    assert reply.card.problems() == []


def test_one_category_by_model_shows_the_new_snapshot(traffic: Services) -> None:
    reply = ask(traffic, "billing 24h by model")
    text = section_text(reply)
    lines = rate_lines(reply)
    assert set(lines) == {"gpt-4o-mini", NEW_MODEL}
    assert "no baseline" in lines[NEW_MODEL] and re.search(r"^• `[^`]+`: \*[567]\.\d%\*", lines[NEW_MODEL])
    assert text.startswith("*All of billing*")


def test_chart_is_a_png_of_the_window(traffic: Services) -> None:
    [upload] = ask(traffic, "billing 24h by model").uploads
    assert upload.filename == "refusals-billing-24h.png"
    assert upload.content.startswith(b"\x89PNG\r\n\x1a\n")
    image = matplotlib.image.imread(io.BytesIO(upload.content), format="png")
    assert image.shape[:2] == (360, 800)
    for window in ("1h", "7d"):
        assert ask(traffic, f"billing {window}").uploads[0].content.startswith(b"\x89PNG")


def test_unknown_category_is_a_clear_error(traffic: Services) -> None:
    reply = run_command(traffic, COMMAND, CommandRequest("/refusals", "biling", "U0ONCALL", "C0OPS", T0))
    assert "no requests in category 'biling' in the last 24h" in reply.card.text
    assert reply.uploads == []


def test_card_fits_slack_with_many_long_names(services: Services) -> None:
    start = T0 - timedelta(hours=2)
    for i in range(20):
        name = f"{i:02d}" + "é<&>" * 31  # 126 characters that all need escaping
        write_traffic(
            services, start=start, end=T0, per_hour=60, rate=lambda t: 0.1, seed=i, category=name, model="m" * 200
        )
    for text in ("", "by model", "7d by tenant"):
        reply = ask(services, text)
        assert reply.card.problems() == [], text
    assert "…and 5 more." in section_text(ask(services, ""))
