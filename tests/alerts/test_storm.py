"""200 alerts in 10 s to one channel through the real webhook: nothing lost, about one post a second."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services
from storage import outbox
from storage.alerts_models import Alert
from tests.fake_slack import FakeSlack

TOKEN = "storm-webhook-token-77aa"
COUNT = 200
SECONDS = 10.0


@pytest.fixture
def service(slack_services: Services, fake_slack: FakeSlack) -> Iterator[str]:
    fake_slack.add_channel("C0ONCALL01", "ai-oncall")
    slack_services.settings = slack_services.settings.model_copy(update={"webhook_token": SecretStr(TOKEN)})
    with BackgroundServer(create_app(slack_services.settings, services=slack_services)) as server:
        yield server.url


def _pending(services: Services) -> int:
    with services.db.session() as session:
        return sum(m.status == "pending" for m in outbox.list_messages(session=session, limit=1000))


def test_two_hundred_alerts_in_ten_seconds(service: str, slack_services: Services, fake_slack: FakeSlack) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    began = time.monotonic()
    with httpx.Client(base_url=service, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
        for n in range(COUNT):
            alert = {
                "id": f"disk-{n}",
                "status": "firing",
                "title": f"Queue {n % 4} backing up",
                "severity": ("critical", "high", "medium", "low")[n % 4],
                "starts_at": start.isoformat(),
                "labels": {"service": f"worker-{n}"},
            }
            r = client.post("/webhooks/generic", json={"alerts": [alert]})
            assert r.status_code == 200, r.text
            time.sleep(max(0.0, began + (n + 1) * SECONDS / COUNT - time.monotonic()))
    assert time.monotonic() - began < SECONDS + 3

    deadline = time.monotonic() + 30
    while _pending(slack_services) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _pending(slack_services) == 0

    with slack_services.db.session() as session:
        from sqlmodel import select

        rows = list(session.exec(select(Alert)))
    assert len(rows) == COUNT  # every alert stored
    cards = [m for m in fake_slack.messages("C0ONCALL01") if m.thread_ts in (None, m.ts)]
    own = [m for m in cards if "Alert storm" not in m.text]
    [digest] = [m for m in cards if "Alert storm" in m.text]
    rolled = int(re.search(r"(\d+) alerts", digest.text).group(1))
    assert len(own) + rolled == COUNT  # nothing lost: each alert is on its own card or counted in the digest
    assert len(own) == slack_services.settings.file.routing.storm_threshold

    posts = [c for c in fake_slack.calls("chat.postMessage") if c.body.get("channel") in ("#ai-oncall", "C0ONCALL01")]
    assert not [c for c in fake_slack.calls() if c.status == 429], "the Slack stand-in rate-limited a post"
    gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
    assert len(posts) == len(cards) and all(g >= 0.9 for g in gaps), gaps  # about one post a second
