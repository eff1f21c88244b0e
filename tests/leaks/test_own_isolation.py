"""afterlaunch's own isolation: tenants A and B driven at once through every shared part.

Each tenant's traffic carries words only it uses (its name, a marker, its request ids). Both
tenants ingest concurrently over real HTTP with tenant-bound keys, then both tenant channels
ask /triage, /cost and /refusals at the same time, OFREP is read with tenant-bound keys, and
alert cards are routed per tenant through the outbox. Nothing of one may show up in a place
scoped to the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.alerts.model import AlertIn
from bot.alerts.service import receive
from bot.app import create_app
from bot.config import FileConfig, Settings
from bot.demo.server import BackgroundServer
from bot.flags.service import Change, request_change
from bot.services import Services, build_services
from bot.slack.registry import CommandRequest, run_command
from tests.conftest import make_key
from tests.ingest.factory import event

A, B = "acme", "globex"
ROOM = {A: "C0ACMEROOM", B: "C0GLOBXROOM"}
MARK = {A: "zebrafinch", B: "quokkaland"}
SECRET = {A: "alphasecret", B: "bravosecret"}
"""In every answer of the tenant, never in a question anyone asks: it can only come from stored data."""
ONCALL = "U0ONCALL1"


@pytest.fixture
def iso_services(settings: Settings) -> Iterator[Services]:
    file = FileConfig.model_validate(
        {
            "flags": [{"key": "assistant", "description": "The assistant"}],
            "access": {"killswitch": [ONCALL], "responders": [ONCALL]},
            "channels": {"default": "C0DEFAULT1", "tenant_channels": {ROOM[A]: A, ROOM[B]: B}},
            "routing": {"routes": [{"channel": ROOM[A], "tenant": A}, {"channel": ROOM[B], "tenant": B}]},
        }
    )
    s = build_services(settings.model_copy(update={"file": file}))
    yield s
    s.close()


def _events(tenant: str, now: datetime, n: int) -> list[dict[str, Any]]:
    return [
        event(
            request_id=f"{tenant}-req-{i}",
            tenant=tenant,
            timestamp=(now - timedelta(minutes=30 - i % 20)).isoformat(),
            intent="billing",
            prompt={"system": "Help.", "messages": [{"role": "user", "content": f"{MARK[tenant]} question {i}"}]},
            response=f"The {MARK[tenant]} answer about invoices and refunds number {i}, {SECRET[tenant]}.",
            refused=i % 5 == 0,
        )
        for i in range(n)
    ]


def _ingest_concurrently(url: str, keys: dict[str, str], now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def send(tenant: str) -> None:
        other = B if tenant == A else A
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys[tenant]}"}, timeout=30) as c:
            for i in range(0, 40, 10):
                r = c.post("/v1/events", json={"events": _events(tenant, now, 40)[i : i + 10]})
                assert r.status_code == 200 and r.json()["accepted"] == 10, r.text
            cross = c.post("/v1/events", json={"events": _events(other, now, 1)})
            out[f"{tenant}-writes-other"] = cross.json()
            out[f"{tenant}-reads-other"] = c.get(f"/v1/requests/{other}-req-1").status_code
            out[f"{tenant}-reads-own"] = c.get(f"/v1/requests/{tenant}-req-1").status_code

    threads = [threading.Thread(target=send, args=(t,)) for t in (A, B)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _ask(services: Services, command: str, text: str, channel: str, now: datetime) -> str:
    from bot.slack.commands import all_commands

    cmd = next(c for c in all_commands() if c.name == command)
    reply = run_command(services, cmd, CommandRequest(command, text, ONCALL, channel, now))
    return str(reply.card.blocks) + reply.card.text


def test_two_tenants_at_once_never_see_each_other(iso_services: Services) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    keys = {t: make_key(iso_services, tenant=t, scopes={"ingest", "read"}) for t in (A, B)}
    with BackgroundServer(create_app(iso_services.settings, services=iso_services)) as server:
        api = _ingest_concurrently(server.url, keys, now)
    for t in (A, B):
        assert api[f"{t}-writes-other"]["accepted"] == 0 and api[f"{t}-writes-other"]["rejected"] == 1
        assert api[f"{t}-reads-other"] == 404 and api[f"{t}-reads-own"] == 200

    asks = [
        ("/triage", f'"{MARK[A]} answer about invoices"'),
        ("/triage", f'"{MARK[B]} answer about invoices"'),
        ("/triage", f"{A}-req-3"),
        ("/triage", f"{B}-req-3"),
        ("/cost", ""),
        ("/cost", "by tenant 1h"),
        ("/cost", "by prompt_version"),
        ("/refusals", ""),
        ("/refusals", "by tenant 1h"),
        ("/refusals", "billing"),
    ]
    jobs = [(t, cmd, text) for t in (A, B) for cmd, text in asks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda j: (j, _ask(iso_services, j[1], j[2], ROOM[j[0]], now)), jobs))
    for (tenant, cmd, text), card in answers:
        other = B if tenant == A else A
        shown = card.replace(text.strip('"'), "")  # a card may echo what was asked; the rest is stored data
        assert SECRET[other] not in shown and MARK[other] not in shown and other not in shown.lower(), (cmd, text, card)
    own_triage = {(t, text): card for (t, cmd, text), card in answers if cmd == "/triage"}
    assert f"{A}-req-3" in own_triage[(A, f"{A}-req-3")]  # it does find its own request
    assert f"{A}-req-" in own_triage[(A, f'"{MARK[A]} answer about invoices"')]  # its own candidates

    # A channel that is no tenant's sees both (the triage room of the on-call team).
    both = _ask(iso_services, "/cost", "by tenant 1h", "C0DEFAULT1", now)
    assert A in both and B in both
    # Asking a tenant channel for the other tenant is refused, not answered.
    assert "only" in _ask(iso_services, "/cost", f"tenant={B}", ROOM[A], now)


def test_ofrep_with_tenant_bound_keys(iso_services: Services) -> None:
    now = datetime.now(UTC)
    request_change(iso_services, Change("assistant", "kill", {"tenant": B}, "leak", ONCALL), access=None, now=now)
    keys = {t: make_key(iso_services, tenant=t, scopes={"flags"}) for t in (A, B)}
    with BackgroundServer(create_app(iso_services.settings, services=iso_services)) as server:

        def evaluate(tenant: str, context_tenant: str) -> tuple[int, Any]:
            r = httpx.post(
                f"{server.url}/ofrep/v1/evaluate/flags/assistant",
                json={"context": {"tenant": context_tenant}},
                headers={"Authorization": f"Bearer {keys[tenant]}"},
            )
            return r.status_code, r.json()

        with ThreadPoolExecutor(max_workers=4) as pool:
            pairs = [(A, A), (A, B), (B, B), (B, A)]
            got = dict(zip(pairs, pool.map(lambda p: evaluate(*p), pairs), strict=True))
    assert got[(A, A)][1]["value"] is True
    assert got[(B, B)][1]["value"] is False
    assert got[(A, B)][0] == 400 and got[(B, A)][0] == 400  # a key cannot ask about the other tenant
    assert "globex" not in str(got[(A, A)][1])


def test_alert_cards_for_one_tenant_go_only_to_its_channel(iso_services: Services) -> None:
    now = datetime.now(UTC)
    alerts = [
        AlertIn(
            source="generic",
            fingerprint=f"iso-{t}",
            status="firing",
            title=f"{MARK[t]} spike",
            severity="high",
            labels={"tenant": t, "alertname": f"{MARK[t]}_spike"},
            starts_at=now,
        )
        for t in (A, B)
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda a: receive(iso_services, [a], now), alerts))
    from sqlmodel import select

    from storage.models import OutboxMessage

    with iso_services.db.session() as session:
        rows = list(session.exec(select(OutboxMessage)))
    by_channel: dict[str, str] = {}
    for row in rows:
        by_channel[row.channel] = by_channel.get(row.channel, "") + str(row.payload)
    assert MARK[A] in by_channel[ROOM[A]] and MARK[B] in by_channel[ROOM[B]]
    assert MARK[B] not in by_channel[ROOM[A]] and MARK[A] not in by_channel[ROOM[B]]
