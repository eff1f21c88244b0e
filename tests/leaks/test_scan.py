"""The scan at ingest: all three causes, on both databases, with the right two tenants and nothing on clean traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.ingest.service import Writer, ingest
from bot.leaks.config import LeaksConfig, TenantFingerprint
from bot.leaks.detector import current_groups
from bot.services import Services, build_services
from storage import leaks as leak_store
from tests.ingest.factory import event

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TENANTS = {
    "acme": TenantFingerprint(identifiers=["Acme Corp", "acme.com"], patterns=[r"ACM-\d{6}"], doc_prefixes=["acme/"]),
    "globex": TenantFingerprint(identifiers=["Globex", "globex.io"], patterns=[r"GLX\d{8}"]),
    "initech": TenantFingerprint(identifiers=["Initech"], patterns=[r"\b[QZ]{2}\d{6}\b"]),  # no literal to anchor
}


@pytest.fixture
def leak_services(settings: Settings) -> Any:
    file = settings.file.model_copy(
        update={"tenants": TENANTS, "leaks": LeaksConfig(shared_sources=["help-center"], owner_min_requests=5)}
    )
    s = build_services(settings.model_copy(update={"file": file}))
    yield s
    s.close()


def _send(services: Services, events: list[dict[str, Any]], now: datetime = NOW) -> None:
    result = ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=now)
    assert result.accepted == len(events), result.errors


def _groups(services: Services, now: datetime = NOW) -> dict[tuple[str, str, str], int]:
    return {
        (g.cause, g.source_tenant, g.tenant): len(g.hits) for g in current_groups(services, now + timedelta(minutes=1))
    }


def _ev(tenant: str, response: str, **kw: Any) -> dict[str, Any]:
    return event(tenant=tenant, response=response, **kw)


def test_own_identifiers_and_clean_traffic_raise_nothing(leak_services: Services) -> None:
    _send(
        leak_services,
        [
            _ev("acme", "Welcome to Acme Corp! Write to help@acme.com about ACM-123456."),
            _ev("globex", "Globex support here; see https://globex.io/billing for GLX12345678."),
            _ev("initech", "Initech thanks you. Acmeology and globexian are not names."),
            _ev("unknown", "nothing to see"),
        ],
    )
    assert _groups(leak_services) == {}


def test_identifier_of_another_tenant_in_a_response(leak_services: Services) -> None:
    _send(leak_services, [_ev("globex", "As we told ACME CORP yesterday, the refund is on its way.")])
    assert _groups(leak_services) == {("identifier", "acme", "globex"): 1}


def test_identifier_after_a_json_escaped_newline_in_the_prompt(leak_services: Services) -> None:
    prompt = {"system": "Hi", "messages": [{"role": "user", "content": "Notes:\nInitech account closed"}]}
    _send(leak_services, [_ev("acme", "Done.", prompt=prompt)])
    hits = current_groups(leak_services, NOW + timedelta(minutes=1))
    assert [(g.cause, g.source_tenant, g.tenant, g.hits[0].part) for g in hits] == [
        ("identifier", "initech", "acme", "prompt")
    ]


def test_pattern_of_another_tenant(leak_services: Services) -> None:
    _send(leak_services, [_ev("initech", "Your order GLX00001234 shipped.")])
    groups = current_groups(leak_services, NOW + timedelta(minutes=1))
    assert [(g.cause, g.source_tenant, g.tenant, g.hits[0].span) for g in groups] == [
        ("identifier", "globex", "initech", "GLX00001234")
    ]


def test_pattern_without_a_literal_still_runs(leak_services: Services) -> None:
    _send(leak_services, [_ev("acme", "Your code is ZQ123456."), _ev("initech", "Your code is ZQ123457.")])
    groups = current_groups(leak_services, NOW + timedelta(minutes=1))
    assert [(g.cause, g.source_tenant, g.tenant, g.hits[0].span) for g in groups] == [
        ("identifier", "initech", "acme", "ZQ123456")
    ]


def test_canary_takes_effect_at_once_and_only_for_other_tenants(leak_services: Services) -> None:
    with leak_services.db.write_session() as session:
        (canary,) = leak_store.create_canaries(session=session, tenant="acme", count=1, now=NOW)
    assert len(canary) >= 16
    with leak_services.db.session() as session:
        stored = leak_store.list_canaries(session=session)
    assert canary not in {c.canary_hash for c in stored} and all(
        canary not in c.prefix or len(c.prefix) < 16 for c in stored
    )
    ctx = [{"doc_id": "mem-1", "source": "memory", "text": f"note {canary}"}]
    _send(
        leak_services,
        [
            _ev("acme", f"Your internal code is {canary}."),  # its own: fine
            _ev("globex", f"Sure! Reference {canary.upper()} noted."),
            _ev("initech", "ok", context=ctx),
        ],
    )
    groups = current_groups(leak_services, NOW + timedelta(minutes=1))
    got = sorted((g.cause, g.source_tenant, g.tenant, g.hits[0].part, g.hits[0].span) for g in groups)
    assert got == [("canary", "acme", "globex", "response", canary), ("canary", "acme", "initech", "context", canary)]


def test_revoked_canary_is_no_longer_matched(leak_services: Services) -> None:
    with leak_services.db.write_session() as session:
        (canary,) = leak_store.create_canaries(session=session, tenant="acme", count=1, now=NOW)
    _send(leak_services, [_ev("globex", f"code {canary}")])  # loads the fingerprints first
    with leak_services.db.write_session() as session:
        (row,) = leak_store.list_canaries(session=session)
        leak_store.revoke_canary(session=session, canary_id=row.id, now=NOW)
    _send(leak_services, [_ev("globex", f"again {canary}")])
    (group,) = current_groups(leak_services, NOW + timedelta(minutes=1))
    assert len(group.hits) == 1


def test_declared_document_prefix_is_owned_outright(leak_services: Services) -> None:
    ctx = [{"doc_id": "acme/contracts/7", "source": "kb", "text": "terms"}]
    _send(leak_services, [_ev("acme", "ok", context=ctx), _ev("globex", "ok", context=ctx)])
    assert _groups(leak_services) == {("foreign_document", "acme", "globex"): 1}


def _doc(doc_id: str, source: str = "kb") -> list[dict[str, Any]]:
    return [{"doc_id": doc_id, "source": source, "text": "private figures"}]


def test_many_requests_on_one_date_do_not_make_an_owner(leak_services: Services) -> None:
    _send(leak_services, [_ev("initech", "ok", context=_doc("doc-9")) for _ in range(30)])
    with leak_services.db.session() as session:
        assert leak_store.list_owners(session=session) == []
    _send(leak_services, [_ev("globex", "ok", context=_doc("doc-9"))])
    assert _groups(leak_services) == {}


def test_document_served_to_one_tenant_enough_becomes_owned(leak_services: Services) -> None:
    day1 = NOW - timedelta(days=1)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    _send(leak_services, [_ev("initech", "ok", context=_doc("doc-7"), timestamp=stamp(day1)) for _ in range(4)], day1)
    _send(leak_services, [_ev("initech", "ok", context=_doc("doc-7"), timestamp=stamp(NOW - timedelta(minutes=5)))])
    with leak_services.db.session() as session:
        assert [(o.doc_id, o.tenant) for o in leak_store.list_owners(session=session)] == [("doc-7", "initech")]
    _send(leak_services, [_ev("acme", "ok", context=_doc("doc-7")), _ev("initech", "ok", context=_doc("doc-7"))])
    _send(leak_services, [_ev("acme", "ok", context=_doc("help-2", "help-center"))])
    assert _groups(leak_services) == {("foreign_document", "initech", "acme"): 1}


def test_shared_before_owned_stays_shared(leak_services: Services) -> None:
    day1 = NOW - timedelta(days=1)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    _send(leak_services, [_ev("initech", "ok", context=_doc("faq-1"), timestamp=stamp(day1)) for _ in range(4)], day1)
    _send(leak_services, [_ev("acme", "ok", context=_doc("faq-1"), timestamp=stamp(day1))], day1)
    _send(leak_services, [_ev("initech", "ok", context=_doc("faq-1")) for _ in range(5)])
    _send(leak_services, [_ev("acme", "ok", context=_doc("faq-1"))])
    assert _groups(leak_services) == {}
    with leak_services.db.session() as session:
        assert leak_store.list_owners(session=session) == []


def test_a_replayed_event_writes_no_second_hit(leak_services: Services) -> None:
    e = _ev("globex", "Initech says hi")
    _send(leak_services, [e])
    result = ingest(leak_services.db, [e], cfg=leak_services.ingest, writer=Writer(None, None), now=NOW)
    assert result.duplicates == 1
    assert _groups(leak_services) == {("identifier", "initech", "globex"): 1}
