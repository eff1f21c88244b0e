"""The model_change detector: snapshots per cohort with first-seen times, one info card per new snapshot."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import orjson
from sqlmodel import select

from bot.cards.limits import check_payload
from bot.config import ChannelsConfig
from bot.refusals import models_seen
from bot.refusals.models_seen import NewSnapshot, card_for
from bot.services import Services, build_services
from storage import refusals as store
from storage.models import OutboxMessage
from storage.refusals_models import ModelSnapshot
from tests.refusals.helpers import T0, event, send


def with_ops_channel(services: Services) -> Services:
    file = services.settings.file.model_copy(update={"channels": ChannelsConfig(ops="#ai-ops")})
    return replace(services, settings=services.settings.model_copy(update={"file": file}))


def cards(services: Services) -> list[tuple[str, dict]]:
    with services.db.session() as session:
        return [
            (m.channel, orjson.loads(m.payload)) for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def snapshots(services: Services) -> dict[tuple[str, str, str, str], ModelSnapshot]:
    with services.db.session() as session:
        return {(s.tenant, s.category, s.model, s.system_fingerprint): s for s in session.exec(select(ModelSnapshot))}


def test_history_is_recorded_quietly_then_a_new_snapshot_is_announced(services: Services) -> None:
    ops = with_ops_channel(services)
    day = T0 - timedelta(days=1)
    send(
        services,
        [event(day + timedelta(minutes=n), n, intent=c) for n, c in enumerate(("billing", "account", "billing"))],
        day,
    )
    assert [s.model for s in models_seen.scan(ops, day + timedelta(minutes=10))] == ["gpt-4o-mini"]
    assert cards(services) == []  # the first scan learns what is normal; it does not announce it
    old = snapshots(services)[("acme", "billing", "gpt-4o-mini", "fp_old")]
    assert (old.requests, old.first_seen_ms, old.mismatched) == (2, int(day.timestamp() * 1000), 0)

    t = T0 - timedelta(minutes=30)
    send(
        services,
        [
            event(t + timedelta(seconds=4), 10),  # the old snapshot still serves a quarter
            event(t + timedelta(seconds=1), 11, model="gpt-4o-mini-2026-11-20", system_fingerprint="fp_new"),
            event(
                t + timedelta(seconds=2),
                12,
                model="gpt-4o-mini-2026-11-20",
                system_fingerprint="fp_new",
                intent="account",
            ),
            event(
                t + timedelta(seconds=3),
                13,
                model="gpt-4o-mini-2026-11-20",
                system_fingerprint="fp_new",
                model_requested="gpt-4o",
            ),
        ],
        t,
    )
    [new] = models_seen.scan(ops, T0)
    assert new.announced and new.model == "gpt-4o-mini-2026-11-20" and new.system_fingerprint == "fp_new"
    assert new.first_request_id == f"req_{int(t.timestamp()) + 1}_11"
    assert (
        new.share == 0.75 and new.mismatched == 3 and sorted(new.cohorts) == [("acme", "account"), ("acme", "billing")]
    )
    [(channel, card)] = cards(services)
    assert channel == "#ai-ops"
    text = card["blocks"][1]["text"]["text"]
    assert "first seen at <!date^" in text and "serving *75.0%* of its cohorts' traffic" in text
    assert "3 of them asked for another model (gpt-4o, gpt-4o-mini)" in text
    assert "acme/account, acme/billing" in text
    assert "/refusals" in text  # the model-snapshot-new runbook's steps


def test_position_survives_a_restart_and_fresh_requests_wait_for_the_lag(services: Services) -> None:
    t = T0 - timedelta(hours=1)
    send(services, [event(t, 1)], t)
    models_seen.scan(services, t + timedelta(minutes=5))
    send(services, [event(T0, 2, system_fingerprint="fp_b")], T0)
    assert models_seen.scan(services, T0 + timedelta(seconds=30)) == []  # received 30 s ago: not yet
    again = build_services(services.settings)  # another replica, or this one after a restart
    try:
        [new] = models_seen.scan(again, T0 + timedelta(minutes=2))
        assert new.system_fingerprint == "fp_b" and new.announced
        assert models_seen.scan(again, T0 + timedelta(minutes=4)) == []
        with again.db.session() as session:
            assert store.get_scan_position(session=session, name=models_seen.SCAN_NAME) == 2
    finally:
        again.close()
    [(channel, _)] = cards(services)
    assert channel == "#ai-oncall"  # no ops channel configured: the default one


def test_known_snapshot_in_a_new_cohort_is_recorded_not_announced(services: Services) -> None:
    t = T0 - timedelta(hours=2)
    send(services, [event(t, 1)], t)
    models_seen.scan(services, t + timedelta(minutes=5))
    send(services, [event(T0, 2, tenant="globex", intent="legal")], T0)
    assert models_seen.scan(services, T0 + timedelta(minutes=2)) == []
    assert ("globex", "legal", "gpt-4o-mini", "fp_old") in snapshots(services)
    assert cards(services) == []


def test_info_card_fits_slack_with_huge_inputs() -> None:
    huge = "x" * 20_000
    snap = NewSnapshot(huge, huge, huge, first_seen_ms=int(T0.timestamp() * 1000), first_request_id=huge)
    snap.cohorts = [(huge, huge)] * 30
    snap.requested = {huge}
    snap.mismatched = 5
    card = card_for(snap)
    assert card.problems() == []
    assert check_payload(card.to_message(), surface="message") == []
