"""The tenant_leak detector end to end: HTTP ingest, then `afterlaunch detect` a minute later, and auto-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.detectors import run_detectors
from bot.leaks.config import LeaksConfig, TenantFingerprint
from bot.leaks.detector import detect, redact
from bot.services import build_services
from storage import leaks as leak_store
from tests.ingest.factory import event


def _services(settings):  # type: ignore[no-untyped-def]
    file = settings.file.model_copy(
        update={
            "tenants": {"acme": TenantFingerprint(identifiers=["Acme Corp"]), "globex": TenantFingerprint()},
            "leaks": LeaksConfig(),
        }
    )
    return build_services(settings.model_copy(update={"file": file}))


def test_one_finding_per_cause_and_pair_sharing_one_incident(settings) -> None:  # type: ignore[no-untyped-def]
    from bot.ingest.service import Writer, ingest

    services = _services(settings)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        with services.db.write_session() as session:
            (canary,) = leak_store.create_canaries(session=session, tenant="acme", count=1, now=now)
        events = [
            event(tenant="globex", path="cache", response=f"Acme Corp told us {canary}", timestamp=now.isoformat())
            for _ in range(3)
        ]
        ingest(services.db, events, cfg=services.ingest, writer=Writer(None, None), now=now)
        findings = detect(services, now + timedelta(minutes=1))
        assert sorted((f.labels["cause"], f.labels["source_tenant"], f.labels["tenant"]) for f in findings) == [
            ("canary", "acme", "globex"),
            ("identifier", "acme", "globex"),
        ]
        assert {f.severity for f in findings} == {"critical"}
        assert len({getattr(f, "incident", None) or "one" for f in findings}) == 1
        assert all(canary not in f.summary and canary not in str(f.figures) for f in findings)  # redacted in channels
        assert all(len(f.sample_request_ids) == 3 for f in findings)
        assert detect(services, now + timedelta(hours=25)) == []  # the window has passed
        # Through the alert pipeline: one card per finding key, runbook tenant-leak matched by detector label.
        run_detectors(services, now + timedelta(minutes=1), only=["tenant_leak"])
        with services.db.session() as session:
            from sqlmodel import select

            from storage.alerts_models import Alert

            alerts = list(session.exec(select(Alert)))
        assert len(alerts) == 2
    finally:
        services.close()


def test_redaction_keeps_little() -> None:
    assert redact("alcnabcdefghijkmnpqrstuvwx") == "alcn•••••••• (26 chars)"
    assert redact("Acme Corp") == "Ac••••••• (9 chars)"
