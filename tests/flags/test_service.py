from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.errors import PermissionDenied, UserError
from bot.flags.autotrip import auto_trip
from bot.flags.service import Change, approve_request, request_change
from bot.flags.snapshot import current_snapshot
from bot.services import Services
from storage import flags as store
from storage import outbox
from storage.flags_models import AuditIsAppendOnly, FlagAudit
from tests.flags.conftest import ONCALL, OPS, SECOND, STRANGER, flag_file

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def kill(services: Services, scope: dict[str, str], *, actor: str = ONCALL, flag: str = "assistant", **kw: str):
    change = Change(flag=flag, action="kill", scope=scope, reason=kw.pop("reason", "runaway loop"), actor=actor, **kw)
    return request_change(services, change, access=None, now=NOW)


def audit(services: Services, key: str = "assistant") -> list[FlagAudit]:
    with services.db.session() as session:
        return store.list_audit(session=session, flag_key=key, limit=100)


def test_config_flags_are_stored_and_kill_restore_round_trips(flag_services: Services) -> None:
    snap = current_snapshot(flag_services, NOW)
    assert set(snap.flags) == {"assistant", "assistant.retries"}
    outcome = kill(flag_services, {"tenant": "acme"}, card_key="cost:acme")
    assert outcome.status == "done"
    assert outcome.flag.state() == "off for tenant=acme"
    assert outcome.version > snap.version
    restore = Change("assistant", "restore", {"tenant": "acme"}, "fixed", ONCALL)
    back = request_change(flag_services, restore, access=None, now=NOW + timedelta(minutes=5))
    assert back.flag.state() == "on" and back.version > outcome.version
    rows = audit(flag_services)
    assert [(r.action, r.outcome, r.from_state, r.to_state) for r in rows] == [
        ("restore", "done", "off for tenant=acme", "on"),
        ("kill", "done", "on", "off for tenant=acme"),
    ]
    assert rows[1].card_key == "cost:acme" and orjson.loads(rows[1].scope) == {"tenant": "acme"}


def test_each_change_is_announced_in_ops(flag_services: Services) -> None:
    kill(flag_services, {"tenant": "acme"})
    with flag_services.db.session() as session:
        msgs = outbox.list_messages(session=session, limit=50, after_id=0)
    posts = [m for m in msgs if m.kind == "post" and m.channel == OPS]
    assert len(posts) == 1
    assert "assistant" in orjson.loads(posts[0].payload)["text"]


def test_unauthorised_toggle_is_refused_and_audited(flag_services: Services) -> None:
    with pytest.raises(PermissionDenied, match="killswitch"):
        kill(flag_services, {}, actor=STRANGER)
    [row] = audit(flag_services)
    assert (row.actor, row.outcome, row.action) == (STRANGER, "refused", "kill")
    assert current_snapshot(flag_services, NOW).flags["assistant"].kills == ()


def test_reason_is_required(flag_services: Services) -> None:
    with pytest.raises(UserError, match="reason is required"):
        kill(flag_services, {}, reason="   ")
    assert current_snapshot(flag_services, NOW).flags["assistant"].kills == ()


def test_double_kill_and_restore_of_nothing_are_refused(flag_services: Services) -> None:
    kill(flag_services, {"tenant": "acme"})
    with pytest.raises(UserError, match="already killed"):
        kill(flag_services, {"tenant": "acme"})
    with pytest.raises(UserError, match="not killed for tenant=globex"):
        request_change(
            flag_services, Change("assistant", "restore", {"tenant": "globex"}, "x", ONCALL), access=None, now=NOW
        )


def test_two_person_rule_for_a_global_change(flag_services: Services) -> None:
    pending = kill(flag_services, {}, flag="assistant.retries")
    assert pending.status == "pending" and pending.request_id is not None
    assert current_snapshot(flag_services, NOW).flags["assistant.retries"].kills == ()
    with pytest.raises(PermissionDenied, match="someone else"):
        approve_request(flag_services, pending.request_id, ONCALL, access=None, now=NOW)
    with pytest.raises(PermissionDenied):
        approve_request(flag_services, pending.request_id, STRANGER, access=None, now=NOW)
    done = approve_request(flag_services, pending.request_id, SECOND, access=None, now=NOW + timedelta(minutes=1))
    assert done.status == "done" and done.flag.state() == "off everywhere"
    rows = audit(flag_services, "assistant.retries")
    assert [(r.outcome, r.actor, r.approver) for r in rows] == [
        ("done", ONCALL, SECOND),
        ("refused", STRANGER, ""),
        ("refused", ONCALL, ""),
        ("pending", ONCALL, ""),
    ]
    with pytest.raises(UserError, match="already"):
        approve_request(flag_services, pending.request_id, SECOND, access=None, now=NOW + timedelta(minutes=2))


def test_scoped_change_of_a_two_person_flag_needs_one_person(flag_services: Services) -> None:
    assert kill(flag_services, {"tenant": "acme"}, flag="assistant.retries").status == "done"


def test_expired_request_cannot_be_approved(flag_services: Services) -> None:
    pending = kill(flag_services, {}, flag="assistant.retries")
    assert pending.request_id is not None
    with pytest.raises(UserError, match="expired"):
        approve_request(flag_services, pending.request_id, SECOND, access=None, now=NOW + timedelta(hours=2))


def test_audit_rows_cannot_be_changed_through_the_orm(flag_services: Services) -> None:
    kill(flag_services, {})
    with pytest.raises(AuditIsAppendOnly), flag_services.db.write_session() as session:
        row = session.get(FlagAudit, audit(flag_services)[0].id)
        assert row is not None
        row.reason = "nothing happened"
        session.add(row)
        session.flush()
    with pytest.raises(AuditIsAppendOnly), flag_services.db.write_session() as session:
        session.delete(session.get(FlagAudit, audit(flag_services)[0].id))
        session.flush()
    assert audit(flag_services)[0].reason == "runaway loop"


@pytest.mark.parametrize("statement", ["UPDATE flag_audit SET reason = 'x'", "DELETE FROM flag_audit"])
def test_audit_rows_cannot_be_changed_in_the_database_either(flag_services: Services, statement: str) -> None:
    kill(flag_services, {})
    with pytest.raises(DBAPIError, match="append-only"), flag_services.db.write_session() as session:
        session.execute(text(statement))
    assert audit(flag_services)[0].reason == "runaway loop"


def test_auto_trip_kills_the_scoped_flag_as_afterlaunch(settings, flag_services: Services) -> None:
    rule = {"match": {"detector": "cost_burn", "cause": "leaked_api_key"}, "flag": "assistant", "scope": ["api_key_id"]}
    services = flag_services
    services.settings = settings.model_copy(update={"file": flag_file(killswitch={"auto_trip": [rule]})})
    labels = {"detector": "cost_burn", "cause": "leaked_api_key", "api_key_id": "prod-key-2"}
    assert auto_trip(services, {**labels, "cause": "noisy_tenant"}, None, NOW) is False
    assert auto_trip(services, {"detector": "cost_burn", "cause": "leaked_api_key"}, None, NOW) is False
    assert auto_trip(services, labels, "cost:key", NOW) is True
    assert auto_trip(services, labels, "cost:key", NOW) is False  # already tripped
    [row] = audit(services)
    assert (row.actor, row.source, row.card_key, row.outcome) == ("afterlaunch", "alert", "cost:key", "done")
    assert orjson.loads(row.scope) == {"api_key_id": "prod-key-2"}
    assert "leaked_api_key" in row.detail
