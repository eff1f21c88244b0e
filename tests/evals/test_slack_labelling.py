"""The labelling flow end to end: a batch posted to the stand-in, then signed clicks, a modal note, a second
labeller and a change of mind, each updating the item card and the batch summary in place."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.config import ChannelsConfig, FileConfig, Settings
from bot.demo.server import BackgroundServer
from bot.evals.config import EvalsConfig
from bot.evals.labelling import start_batch
from bot.services import Services, build_services
from storage.evals_models import EvalLabel, EvalLabelChange
from tests.evals.helpers import event, log_requests
from tests.fake_slack import FakeSlack
from tests.fake_slack.records import Message
from tests.slack_requests import block_action, interaction_body, send

ROOM, ANN, BOB, OUTSIDER, GROUP = "C0LABEL01", "U0ANN0001", "U0BOB0001", "U0OUT0001", "S0LABELS1"
NOTE = "cites a refund policy that does not exist"


@pytest.fixture
def labelling(slack_settings: Settings, fake_slack: FakeSlack) -> Iterator[tuple[Services, str]]:
    fake_slack.add_channel(ROOM, "labelling")
    fake_slack.add_usergroup(GROUP, [ANN, BOB])
    file = FileConfig(
        evals=EvalsConfig(channel=ROOM, labellers=GROUP, items_per_intent=1),
        channels=ChannelsConfig(tenant_channels={"C0ACME001": "acme"}),
    )
    services = build_services(slack_settings.model_copy(update={"file": file}))
    with BackgroundServer(create_app(services.settings, services=services)) as server:
        yield services, server.url
    services.close()


def _wait(check: Callable[[], Any], what: str, timeout: float = 45) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _card(fake: FakeSlack, ts: str) -> Message:
    return next(m for m in fake.messages(ROOM) if m.ts == ts)


def _click(url: str, user: str, action: str, value: str, ts: str, **kw: Any) -> None:
    assert (
        send(
            url, interaction_body(block_action(action, value, user=user, channel=ROOM, message_ts=ts, **kw))
        ).status_code
        == 200
    )


def _select(url: str, user: str, value: str, ts: str) -> None:
    body = block_action("evals_category", "", user=user, channel=ROOM, message_ts=ts)
    body["actions"][0] = {"action_id": "evals_category", "type": "static_select", "block_id": "b1",
                          "selected_option": {"value": value, "text": {"type": "plain_text", "text": "x"}}}  # fmt: skip
    assert send(url, interaction_body(body)).status_code == 200


def _labels(services: Services) -> list[EvalLabel]:
    with services.db.session() as session:
        return list(session.execute(select(EvalLabel).order_by(EvalLabel.id)).scalars())


def test_post_click_note_second_labeller_and_change_of_mind(
    labelling: tuple[Services, str], fake_slack: FakeSlack
) -> None:
    services, url = labelling
    now = datetime.now(UTC)
    log_requests(
        services,
        [event("r-bill", now - timedelta(hours=2)), event("r-ref", now - timedelta(hours=1), intent="refunds")],
        now=now,
    )
    _, n = start_batch(services, now, seed=3)
    assert n == 2
    posts = fake_slack.wait_for("chat.postMessage", 3, timeout=20)
    summary, first = posts[0].response["ts"], posts[1].response["ts"]
    item = _card(fake_slack, first)
    assert "Labelling batch" in item.text or "Label" in item.text
    assert "answer to r-bill" not in str(item.blocks) and "question r-bill" not in str(item.blocks)  # redacted
    buttons = {e["action_id"]: e for b in item.blocks if b["type"] == "actions" for e in b["elements"]}
    assert set(buttons) == {
        "evals_label_pass",
        "evals_label_fail",
        "evals_label_unsure",
        "evals_category",
        "evals_note",
        "evals_full",
    }
    value = orjson.loads(buttons["evals_label_pass"]["value"])
    item_id = value["item"]
    ref = lambda **kw: orjson.dumps({"item": item_id, **kw}).decode()  # noqa: E731

    _click(url, ANN, "evals_label_pass", ref(label="pass"), first)
    _wait(lambda: "<@U0ANN0001> pass" in str(_card(fake_slack, first).blocks), "ANN's pass on the card")
    _wait(lambda: "1/2 labelled" in _card(fake_slack, summary).text, "the summary's progress")

    _click(url, ANN, "evals_label_fail", ref(label="fail"), first)  # a change of mind
    _select(url, ANN, ref(category="hallucination"), first)
    _wait(lambda: "fail (hallucination)" in str(_card(fake_slack, first).blocks), "the changed label")

    _click(url, ANN, "evals_note", ref(), first, trigger_id=fake_slack.new_trigger_id())
    [opened] = fake_slack.wait_for("views.open", 1, timeout=10)
    view = opened.response["view"]
    typed = {"type": "plain_text_input", "value": NOTE}
    submitted = {**view, "state": {"values": {"evals_note": {"note": typed}}}}
    payload = {"type": "view_submission", "team": {"id": "T0FAKE0001"}, "user": {"id": ANN}, "view": submitted}
    assert send(url, interaction_body(payload)).status_code == 200
    _wait(lambda: any(x.note for x in _labels(services)), "the note")

    _click(url, BOB, "evals_label_pass", ref(label="pass"), first)
    _wait(lambda: "labellers disagree" in str(_card(fake_slack, first).blocks), "the agreement line")
    _wait(lambda: "1 with two or more labellers" in str(_card(fake_slack, summary).blocks), "the summary's agreement")

    _click(url, OUTSIDER, "evals_label_pass", ref(label="pass"), first)
    _wait(lambda: any("labellers group" in m.text for m in fake_slack.ephemerals(ROOM)), "the outsider's refusal")

    _click(url, ANN, "evals_full", ref(), first)
    full = _wait(
        lambda: [m for m in fake_slack.ephemerals(ROOM) if "answer to r-bill" in str(m.blocks)], "the full text"
    )
    assert full[0].user == ANN

    labels = _labels(services)
    assert [(x.labeller, x.label, x.category, x.note) for x in labels] == [
        (ANN, "fail", "hallucination", NOTE),
        (BOB, "pass", None, None),
    ]
    with services.db.session() as session:
        changes = session.execute(select(EvalLabelChange).order_by(EvalLabelChange.id)).scalars().all()
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("label", "pass", "fail"),
        ("category", None, "hallucination"),
        ("note", None, NOTE),
    ]
    assert all(not m.blocks or len(m.blocks) <= 50 for m in fake_slack.messages(ROOM))
