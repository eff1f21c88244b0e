from __future__ import annotations

from dataclasses import replace

from bot.alerts.service import receive
from bot.services import Services
from storage import alerts as store
from tests.alerts.helpers import ONCALL, T0, alert, configure, later, messages, text_of


def _row(services: Services, fingerprint: str = "generic:provider-5xx"):
    with services.db.session() as session:
        return store.get_by_fingerprint(session=session, fingerprint=fingerprint)


def test_first_firing_posts_one_card_to_the_default_channel(services: Services) -> None:
    [result] = receive(services, [alert()], T0, forward=False)
    assert result.action == "created" and result.card_key.startswith("alert:") and result.channel == "#ai-oncall"
    [post] = [m for m in messages(services) if m["kind"] == "post"]
    assert post["card_key"] == result.card_key and post["channel"] == "#ai-oncall"
    assert "OpenAI 5xx above 5%" in text_of(post)


def test_resend_and_duplicate_delivery_update_the_card_never_repost(services: Services) -> None:
    receive(services, [alert()], T0, forward=False)
    receive(services, [alert()], later(1), forward=False)  # repeat_interval resend
    receive(services, [alert(), alert()], later(1), forward=False)  # HA pair: both in one go
    kinds = [m["kind"] for m in messages(services) if m["card_key"]]
    assert kinds == ["post", "update", "update"]
    row = _row(services)
    assert row.deliveries == 4 and row.last_seen == later(1)
    assert "4 deliveries" in text_of(messages(services)[-1])


def test_resolved_updates_the_card_with_its_duration(services: Services) -> None:
    receive(services, [alert()], T0, forward=False)
    [result] = receive(services, [alert(status="resolved", ends_at=later(12))], later(13), forward=False)
    assert result.action == "resolved"
    update = [m for m in messages(services) if m["kind"] == "update"][-1]
    assert "RESOLVED" in text_of(update) and "12m" in text_of(update)
    thread = [m for m in messages(services) if m["thread_key"]]
    assert "resolved by generic after 12m" in text_of(thread[-1])
    assert _row(services).status == "resolved"


def test_resolved_before_firing_then_the_late_firing_is_ignored(services: Services) -> None:
    [first] = receive(services, [alert(status="resolved", ends_at=later(5))], later(6), forward=False)
    assert first.action == "recorded"
    [late] = receive(services, [alert()], later(6), forward=False)  # the older firing, delivered late
    assert late.action == "ignored"
    assert messages(services) == []  # nobody is told about an alert that is already over
    assert _row(services).status == "resolved"


def test_a_new_occurrence_after_resolve_reopens_the_same_card(services: Services) -> None:
    receive(services, [alert()], T0, forward=False)
    receive(services, [alert(status="resolved", ends_at=later(5))], later(5), forward=False)
    [again] = receive(services, [alert(starts_at=later(20))], later(20), forward=False)
    assert again.action == "reopened"
    assert [m["kind"] for m in messages(services) if m["card_key"]] == ["post", "update", "update"]
    assert "firing again" in text_of([m for m in messages(services) if m["thread_key"]][-1])


def test_flapping_is_marked_and_stops_paging(services: Services) -> None:
    configure(services, oncall=ONCALL)
    receive(services, [alert()], T0, forward=False)
    for n in range(1, 4):
        receive(services, [alert(status="resolved", ends_at=later(10 * n))], later(10 * n), forward=False)
        receive(services, [alert(starts_at=later(10 * n + 1))], later(10 * n + 1), forward=False)
    row = _row(services)
    assert row.flapping
    dms = [m for m in messages(services) if m["kind"] == "dm"]
    assert len(dms) == 2  # the first page and one re-fire; once flapping, no more
    assert any("flapping" in text_of(m) for m in messages(services) if m["thread_key"])
    assert "flapping" in text_of([m for m in messages(services) if m["kind"] == "update"][-1])


def test_paged_severity_mentions_and_dms_the_oncall(services: Services) -> None:
    configure(services, oncall=ONCALL)
    receive(services, [alert()], T0, forward=False)
    [dm] = [m for m in messages(services) if m["kind"] == "dm"]
    assert dm["user"] == "U0PRIMARY" and "You are paged" in text_of(dm)
    post = next(m for m in messages(services) if m["kind"] == "post")
    assert "<@U0PRIMARY>" in text_of(post)


def test_low_severity_does_not_page(services: Services) -> None:
    configure(services, oncall=ONCALL)
    receive(services, [alert(severity="medium")], T0, forward=False)
    assert [m for m in messages(services) if m["kind"] == "dm"] == []


def test_routing_by_severity_labels_and_tenant(services: Services) -> None:
    configure(
        services,
        channels={"default": "#ai-alerts"},
        routing={
            "routes": [
                {"channel": "#acme-oncall", "tenant": "acme"},
                {"channel": "#ai-critical", "severity": ["critical"], "labels": {"team": "ml"}},
            ]
        },
    )
    results = receive(
        services,
        [
            alert("a", labels={"tenant": "acme"}),
            alert("b", labels={"team": "ml"}),
            alert("c", labels={"team": "ml", "tenant": "globex"}),
            alert("d", severity="medium", labels={"team": "ml"}),
        ],
        T0,
        forward=False,
    )
    assert [r.channel for r in results] == ["#acme-oncall", "#ai-critical", "#ai-critical", "#ai-alerts"]


def test_storm_rolls_up_into_one_digest(services: Services) -> None:
    configure(services, routing={"storm_threshold": 3})
    results = []
    for n in range(10):
        results += receive(services, [alert(f"k{n}", severity="medium")], T0, forward=False)
    assert [r.action for r in results] == ["created"] * 3 + ["digested"] * 7
    posts = [m for m in messages(services) if m["kind"] == "post"]
    assert len(posts) == 4  # three cards and one digest
    digest = [m for m in messages(services) if (m["card_key"] or "").startswith("alert-digest:")]
    assert digest[0]["kind"] == "post" and all(m["kind"] == "update" for m in digest[1:])
    assert "7 alerts" in text_of(digest[-1])
    # the digest keeps collecting while the storm lasts, then the channel gets cards again
    assert receive(services, [alert("k10", severity="medium")], later(1.5), forward=False)[0].action == "digested"
    assert receive(services, [alert("k11", severity="medium")], later(5), forward=False)[0].action == "created"


def test_digested_alert_resolves_in_the_digest(services: Services) -> None:
    configure(services, routing={"storm_threshold": 1})
    receive(services, [alert("a", severity="low"), alert("b", severity="low")], T0, forward=False)
    receive(services, [alert("b", severity="low", status="resolved", ends_at=later(1))], later(1), forward=False)
    digest = [m for m in messages(services) if (m["card_key"] or "").startswith("alert-digest:")]
    assert "*Resolved:* 1" in text_of(digest[-1])


def test_pagerduty_acknowledgement_lands_on_the_existing_card(services: Services) -> None:
    receive(services, [alert()], T0, forward=False)
    ack = replace(alert(source="pagerduty"), fingerprint="generic:provider-5xx", acknowledged_by="Dana (PagerDuty)")
    [result] = receive(services, [ack], later(2), forward=False)
    assert result.action == "acknowledged"
    row = _row(services)
    assert row.acked_by == "Dana (PagerDuty)" and row.source == "generic"  # content stays the source's own
    assert "acknowledged by Dana (PagerDuty)" in text_of([m for m in messages(services) if m["thread_key"]][-1])


def test_detector_alert_carries_evidence_runbook_and_kill_switch(services: Services) -> None:
    from tests.alerts.helpers import detector_alert

    receive(services, [detector_alert()], T0, forward=False)
    post = next(m for m in messages(services) if m["kind"] == "post")
    body = text_of(post)
    assert "req_a1" in body and "$412.10" in body
    assert "one tenant is driving the spend" in body  # the matched runbook
    assert "killswitch_open" in body and "alert_requests" in body


def test_simultaneous_duplicate_deliveries_make_one_card(services: Services) -> None:
    """An Alertmanager HA pair sends the same notification at the same moment from two workers."""
    import threading

    barrier = threading.Barrier(4)
    results: list = []

    def deliver() -> None:
        barrier.wait()
        results.extend(receive(services, [alert()], T0, forward=False))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.action for r in results) == ["created", "updated", "updated", "updated"]
    assert len({r.card_key for r in results}) == 1
    assert [m["kind"] for m in messages(services) if m["card_key"]].count("post") == 1
    assert _row(services).deliveries == 4


def test_homes_of_recent_viewers_refresh_once_per_change(services: Services) -> None:
    from storage import outbox

    with services.db.write_session() as session:
        outbox.record_home_viewer(session=session, user_id="U0VIEWER1", now=T0)

    def homes() -> list:
        with services.db.session() as session:
            return [m for m in outbox.list_messages(session=session, limit=100) if m.kind == "home"]

    receive(services, [alert("a"), alert("b")], T0, forward=False)
    assert len(homes()) == 1 and "Open alerts" in homes()[0].payload
    receive(services, [alert("a")], later(1), forward=False)  # a resend changes no state: no republish
    assert len(homes()) == 1
