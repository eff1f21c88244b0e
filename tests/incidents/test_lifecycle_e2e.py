"""A card becomes an incident and is run to resolution through signed Slack requests and the stand-in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import text

from bot.alerts.service import receive
from bot.flags.service import Change, apply_change
from bot.flags.snapshot import sync_config_flags
from bot.incidents import export
from bot.incidents.config import IncidentsConfig
from bot.ingest.service import Writer, ingest
from bot.services import Services
from storage import incidents as store
from tests.alerts.helpers import detector_alert
from tests.fake_slack import FakeSlack
from tests.incidents.conftest import wait
from tests.slack_requests import block_action, interaction_body, send, send_event, slash_body

FLAGS = [{"key": "assistant", "description": "The AI assistant"}]


def _configure(services: Services) -> None:
    from bot.config import FileConfig

    services.settings.file = FileConfig.model_validate(
        {
            "oncall": {"users": ["U0PRIMARY"], "rotation_start": "2026-11-23"},
            "access": {"responders": ["U0ONCALL1", "U0COMMS01"]},
            "flags": FLAGS,
            "incidents": IncidentsConfig(updates_channel="C0UPDATES1").model_dump(),
        }
    )


def _events(services: Services, start: datetime) -> None:
    def ev(n: int, at: datetime, tenant: str, user: str) -> dict[str, object]:
        return {
            "request_id": f"req_{n}",
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "tenant": tenant,
            "user_id": user,
            "prompt_version": "v1",
            "model": "gpt-4o-mini",
            "input_tokens": 100 + n,
            "output_tokens": 20,
            "cost_usd": 0.01 * (n % 7 + 1),
            "latency_ms": 300 + 10 * n,
            "refused": n % 5 == 0,
        }

    events = [ev(n, start + timedelta(minutes=2, seconds=n), "acme", f"user{n % 4}") for n in range(30)]
    events += [ev(100 + n, start + timedelta(minutes=3), "globex", "g1") for n in range(5)]  # another tenant
    events += [ev(200 + n, start - timedelta(minutes=30), "acme", "early") for n in range(5)]  # before the window
    result = ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=datetime.now(UTC))
    assert not result.errors, result.errors


def _slash(url: str, fake: FakeSlack, command: str, text_: str, *, user: str = "U0ONCALL1", channel: str) -> str:
    response_url = fake.new_response_url()
    body = slash_body(command, text_, user=user, channel=channel, response_url=response_url)
    assert send(url, body).status_code == 200
    wait(lambda: fake.responses(response_url), f"the reply to {command} {text_}")
    return str(fake.responses(response_url)[0].body)


def test_a_card_becomes_an_incident_and_its_postmortem_holds_every_event(
    service: str, slack_services: Services, fake_slack: FakeSlack
) -> None:
    services = slack_services
    _configure(services)
    sync_config_flags(services, datetime.now(UTC), force=True)
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    _events(services, started)
    [card] = receive(services, [replace(detector_alert(), starts_at=started)], datetime.now(UTC), forward=False)
    wait(lambda: fake_slack.messages("C0ONCALL01"), "the triage card")
    [post] = [c for c in fake_slack.calls("chat.postMessage") if c.response.get("channel") == "C0ONCALL01"]
    assert "incident_declare" in str(post.body)

    # Acknowledge, then declare from the card's button.
    ack = block_action("alert_ack", str(card.alert_id), channel="C0ONCALL01", message_ts=post.response["ts"])
    assert send(service, interaction_body(ack)).status_code == 200
    fake_slack.wait_for("chat.update", 1)
    response_url = fake_slack.new_response_url()
    declare = block_action(
        "incident_declare",
        str(card.alert_id),
        channel="C0ONCALL01",
        message_ts=post.response["ts"],
        response_url=response_url,
    )
    assert send(service, interaction_body(declare)).status_code == 200
    [created] = fake_slack.wait_for("conversations.create", 1)
    channel_id = created.response["channel"]["id"]
    assert created.body["name"].startswith(f"inc-{datetime.now(UTC):%Y%m%d}-cost-burn-acme-is-spending")
    fake_slack.wait_for("conversations.setTopic", 1)
    wait(lambda: len(fake_slack.channel(channel_id).pins) == 3, "the incident card, the card and runbook pinned")
    pinned = [m for m in fake_slack.messages(channel_id) if m.ts in fake_slack.channel(channel_id).pins]
    assert "alert_ack" not in str(pinned[1].blocks) and "Cost burn" in pinned[1].text  # the (acked) triage card
    assert "Runbook" in pinned[2].text
    made = fake_slack.channel(channel_id)
    assert {"U0PRIMARY", "U0ONCALL1", "U0COMMS01"} <= set(made.members)
    wait(lambda: fake_slack.responses(response_url), "the declare answer")
    incident_id = int(str(fake_slack.responses(response_url)[0].body).split("incident ")[1].split(" ")[0])

    # Roles with the pickers on the pinned card.
    card_msg = fake_slack.messages(channel_id)[0]
    for role, person in (("commander", "U0ONCALL1"), ("communications", "U0COMMS01")):
        pick = block_action(f"incident_role_{role}", "", channel=channel_id, message_ts=card_msg.ts)
        pick["actions"][0] = {
            "action_id": f"incident_role_{role}",
            "type": "users_select",
            "block_id": f"incident_roles:{incident_id}",
            "selected_user": person,
        }
        assert send(service, interaction_body(pick)).status_code == 200
    wait(lambda: "IC <@U0ONCALL1>" in fake_slack.channel(channel_id).topic, "the commander in the topic")

    # Two status updates from the incident channel; the stakeholders' channel gets them too.
    _slash(service, fake_slack, "/incident", "status Rolling back the prompt", channel=channel_id)
    _slash(service, fake_slack, "/incident", "status Spend back to normal, watching", channel=channel_id)
    wait(lambda: sum("watching" in m.text for m in fake_slack.messages("C0UPDATES1")) == 1, "the second update")
    wait(lambda: "Spend back to normal" in fake_slack.channel(channel_id).topic, "the status line as topic")

    # An overdue update reminds the commander: the reminder job runs with an injected clock; the
    # last update is moved back an hour in the database instead of the clock forward, because
    # the outbox sends what is due by the real clock.
    from bot.incidents.service import remind_overdue

    now = datetime.now(UTC)
    assert remind_overdue(services, now) == 0
    with services.db.write_session() as session:
        incident = store.get_incident(session=session, incident_id=incident_id)
        assert incident is not None
        incident.last_update_at = now - timedelta(minutes=61)
        session.add(incident)
    assert remind_overdue(services, now - timedelta(minutes=2)) == 0  # 59 min: sev2 expects 60
    reminded_at = now
    assert remind_overdue(services, reminded_at) == 1
    assert remind_overdue(services, reminded_at + timedelta(minutes=1)) == 0  # once per period
    wait(
        lambda: any(
            "last status update was 61 min ago" in m.text and "<@U0ONCALL1>" in m.text
            for m in fake_slack.messages(channel_id)
        ),
        "the reminder",
    )

    # A kill-switch flip, and a message marked with the pin reaction.
    flip = apply_change(
        services,
        Change(flag="assistant", action="kill", scope={"tenant": "acme"}, reason="leak suspected", actor="U0ONCALL1"),
        approver="",
        now=datetime.now(UTC),
    )
    marked = fake_slack.messages(channel_id)[-1]
    event = {
        "type": "reaction_added",
        "user": "U0COMMS01",
        "reaction": "pushpin",
        "item": {"type": "message", "channel": channel_id, "ts": marked.ts},
        "event_ts": "1.1",
    }
    assert send_event(service, event, event_id="Ev0PIN0001").status_code == 200
    assert send_event(service, event, event_id="Ev0PIN0002").status_code == 200  # a second reaction counts once
    _slash(service, fake_slack, "/incident", "resolve", channel=channel_id)
    wait(lambda: any("resolved by" in m.text for m in fake_slack.messages(channel_id)), "the resolution")
    assert not fake_slack.channel(channel_id).archived and not fake_slack.calls("conversations.archive")

    draft = export.postmortem(services, incident_id, datetime.now(UTC), "json")
    data = orjson.loads(draft)
    kinds = [e["kind"] for e in data["timeline"]]
    for kind in ("declared", "card_fired", "ack", "role", "status", "reminder", "killswitch", "pinned", "resolved"):
        assert kind in kinds, kind
    assert kinds.count("status") == 2 and kinds.count("pinned") == 1 and kinds.count("role") == 2
    at = {e["kind"]: e["at"] for e in data["timeline"]}
    assert at["reminder"] == reminded_at.isoformat()
    assert at["card_fired"] == started.isoformat()
    assert f"audit #{flip.audit_id}" in next(e["text"] for e in data["timeline"] if e["kind"] == "killswitch")

    # Impact figures match a direct query over the incident window (acme only: the card's tenant).
    lo = int(started.timestamp()) // 60 * 60 * 1000
    hi = -(-int(datetime.fromisoformat(data["window"]["end"]).timestamp()) // 60) * 60 * 1000
    with services.db.engine.connect() as conn:
        requests, users, cost, refusals = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT user_hash), sum(cost_usd), sum(CASE WHEN refused THEN 1 ELSE 0 END)"
                " FROM requests WHERE tenant = 'acme' AND ts_ms >= :lo AND ts_ms < :hi"
            ),
            {"lo": lo, "hi": hi},
        ).one()
    impact = data["impact"]
    assert (impact["requests"], impact["users"], impact["refusals"]) == (requests, users, refusals) == (30, 4, 6)
    assert abs(impact["cost_usd"] - cost) < 1e-6 and impact["tenants"] == 1

    # /alerts, /oncall and the export button, as the responders would use them.
    listed = _slash(service, fake_slack, "/alerts", "all", channel="C0ONCALL01")
    assert f"Incident {incident_id}: Cost burn" in listed and "acked by <@U0ONCALL1>" in listed
    assert "<@U0PRIMARY>" in _slash(service, fake_slack, "/oncall", "", channel="C0ONCALL01")
    click = block_action("incident_export", str(incident_id), channel=channel_id, message_ts=card_msg.ts)
    assert send(service, interaction_body(click)).status_code == 200
    [upload] = fake_slack.wait_for("files.completeUploadExternal", 1)
    assert not upload.failed and fake_slack.uploads()[0].content.decode().startswith("# Postmortem draft")

    md = export.postmortem(services, incident_id, datetime.now(UTC), "md")
    assert "## Open questions" in md and "Requests: 30" in md and "kill switch assistant" in md
