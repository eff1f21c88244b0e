"""Reconciliation against stand-in OpenAI and Anthropic cost APIs over real loopback HTTP, and CSV imports."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from pydantic import SecretStr

from bot.config import CostConfig
from bot.cost.command import COMMAND
from bot.cost.providers import fetch_anthropic, fetch_openai, parse_csv
from bot.cost.reconcile import compare, import_configured
from bot.detectors import run_detectors
from bot.errors import UserError
from bot.services import Services
from bot.slack.registry import CommandRequest, run_command
from storage import cost as store
from tests.cost.helpers import rollup_row, write_minutes

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
DAY1 = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp())
OPENAI_KEY, ANTHROPIC_KEY = "sk-admin-openai-test", "sk-ant-admin01-test"

OPENAI_PAGES = [
    {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": DAY1,
                "end_time": DAY1 + 86400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 6.0, "currency": "usd"},
                        "line_item": "gpt-4o-mini-2024-07-18, input",
                        "project_id": "proj_1",
                    },
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 4.0, "currency": "usd"},
                        "line_item": "gpt-4o-mini-2024-07-18, output",
                        "project_id": "proj_1",
                    },
                ],
            }
        ],
        "has_more": True,
        "next_page": "page_2",
    },
    {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": DAY1 + 86400,
                "end_time": DAY1 + 2 * 86400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 12.5, "currency": "usd"},
                        "line_item": "gpt-4o-mini-2024-07-18, input",
                        "project_id": "proj_1",
                    },
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    },
]
ANTHROPIC_PAGE = {
    "data": [
        {
            "starting_at": "2026-11-02T00:00:00Z",
            "ending_at": "2026-11-03T00:00:00Z",
            "results": [
                {
                    "currency": "USD",
                    "amount": "500.00",
                    "workspace_id": None,
                    "description": "Claude Haiku 4.5 Usage - Input Tokens",
                    "cost_type": "tokens",
                    "context_window": "0-200k",
                    "model": "claude-haiku-4-5",
                    "service_tier": "standard",
                    "token_type": "uncached_input_tokens",
                },
            ],
        }
    ],
    "has_more": False,
    "next_page": None,
}


class _Provider(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        _Provider.seen.append(
            (url.path, {**query, "auth": self.headers.get("Authorization") or self.headers.get("x-api-key")})
        )
        if url.path == "/v1/organization/costs" and self.headers.get("Authorization") == f"Bearer {OPENAI_KEY}":
            body = OPENAI_PAGES[1] if query.get("page") == ["page_2"] else OPENAI_PAGES[0]
        elif url.path == "/v1/organizations/cost_report" and self.headers.get("x-api-key") == ANTHROPIC_KEY:
            body = ANTHROPIC_PAGE
        else:
            self.send_response(401)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def provider_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Provider.seen = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_fetchers_read_real_payload_shapes(provider_url: str) -> None:
    start, end = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    rows = fetch_openai(base_url=provider_url, admin_key=SecretStr(OPENAI_KEY), start=start, end=end)
    assert [(r["day"], r["model"], r["usd"]) for r in rows] == [
        ("2026-11-02", "gpt-4o-mini-2024-07-18", 6.0),
        ("2026-11-02", "gpt-4o-mini-2024-07-18", 4.0),
        ("2026-11-03", "gpt-4o-mini-2024-07-18", 12.5),
    ]
    rows = fetch_anthropic(base_url=provider_url, admin_key=SecretStr(ANTHROPIC_KEY), start=start, end=end)
    assert rows == [
        {"provider": "anthropic", "day": "2026-11-02", "model": "claude-haiku-4-5", "usd": 5.0, "source": "api"}
    ]
    assert _Provider.seen[0][1]["bucket_width"] == ["1d"] and _Provider.seen[-1][1]["group_by[]"] == ["description"]


def test_reconcile_shows_differences_and_raises_a_gap(
    services: Services, provider_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    cost = CostConfig(
        openai_base_url=provider_url,
        openai_admin_key=SecretStr(OPENAI_KEY),
        anthropic_base_url=provider_url,
        anthropic_admin_key=SecretStr(ANTHROPIC_KEY),
    )
    services.settings.file = services.settings.file.model_copy(update={"cost": cost})
    # ours: $10.00 on 11-02 and $12.00 on 11-03 for gpt-4o-mini; $5.05 of claude-haiku on 11-02
    write_minutes(services, [rollup_row(DAY1 + 60 * i, 0.1, 1, model="gpt-4o-mini") for i in range(100)])
    write_minutes(services, [rollup_row(DAY1 + 86400 + 60 * i, 0.1, 1, model="gpt-4o-mini") for i in range(120)])
    write_minutes(services, [rollup_row(DAY1 + 60 * i, 0.05, 1, model="claude-haiku-4-5-20251001") for i in range(101)])
    counts = import_configured(services, NOW)
    assert counts == {"openai": 2, "anthropic": 1}
    with services.db.session() as session:
        gaps = {(g.day, g.model): g for g in compare(session=session, first_day="2026-11-02", last_day="2026-11-03")}
    assert gaps[("2026-11-02", "gpt-4o-mini")].diff == pytest.approx(0.0)
    g = gaps[("2026-11-03", "gpt-4o-mini")]
    assert (g.ours, g.theirs) == (pytest.approx(12.0), pytest.approx(12.5)) and g.ratio == pytest.approx(0.04)
    assert gaps[("2026-11-02", "claude-haiku-4-5")].ratio == pytest.approx(0.05 / 5.05, rel=1e-3)

    findings = run_detectors(services, NOW, only=["finance_gap"])
    assert [(f.key, f.status, f.labels) for f in findings] == [
        ("finance_gap:gpt-4o-mini", "firing", {"detector": "finance_gap", "model": "gpt-4o-mini"})
    ]
    reply = run_command(services, COMMAND, CommandRequest("/cost", "reconcile", "U1", "C1", NOW))
    text = reply.card.blocks[1]["text"]["text"]
    assert ":red_circle: 2026-11-03 `gpt-4o-mini`: ours $12.00, provider $12.50 (-$0.50, 4.0%)" in text
    assert ":large_green_circle: 2026-11-02 `claude-haiku-4-5`" in text
    assert OPENAI_KEY not in caplog.text and ANTHROPIC_KEY not in caplog.text

    with services.db.write_session() as session:  # finance corrects the figure: the gap closes
        store.upsert_provider_costs(
            session=session,
            rows=[{"provider": "openai", "day": "2026-11-03", "model": "gpt-4o-mini", "usd": 12.0, "source": "csv"}],
            now=NOW,
        )
        session.execute(
            store.ProviderCost.__table__.delete().where(
                store.ProviderCost.model == "gpt-4o-mini-2024-07-18", store.ProviderCost.day == "2026-11-03"
            )
        )
    assert [(f.key, f.status) for f in run_detectors(services, NOW, only=["finance_gap"])] == [
        ("finance_gap:gpt-4o-mini", "resolved")
    ]


def test_bad_key_is_refused_without_leaking_it(provider_url: str) -> None:
    from bot.cost.providers import ProviderError

    with pytest.raises(ProviderError) as err:
        fetch_openai(base_url=provider_url, admin_key=SecretStr("sk-wrong"), start=NOW, end=NOW)
    assert "401" in str(err.value) and "sk-wrong" not in str(err.value)


def test_csv_import_validates_each_line() -> None:
    rows = parse_csv('date,model,cost_usd\n2026-11-02,gpt-4o,"1,234.50"\n', provider="openai")
    assert rows == [{"provider": "openai", "day": "2026-11-02", "model": "gpt-4o", "usd": 1234.5, "source": "csv"}]
    with pytest.raises(UserError, match="CSV line 2: date 'yesterday'"):
        parse_csv("date,model,cost_usd\nyesterday,gpt-4o,1\n", provider="openai")
    with pytest.raises(UserError, match="lacks the column"):
        parse_csv("day,model\n", provider="openai")
