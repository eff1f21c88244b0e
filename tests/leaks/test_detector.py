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
        assert {f.incident for f in findings} == {"tenant_leak:path=cache"}  # one leaking component, one card
        assert {f.runbook for f in findings} == {"tenant-leak"}
        for f in findings:
            data = f.to_json()
            assert data["detector"] == "tenant_leak" and data["cause"] in ("canary", "identifier")
            assert data["cohort"]["tenant"] == "globex" and data["cohort"]["source_tenant"] == "acme"
        assert all(canary not in f.summary and canary not in str(f.figures) for f in findings)  # redacted in channels
        assert all(len(f.sample_request_ids) == 3 for f in findings)
        assert detect(services, now + timedelta(hours=25)) == []  # the window has passed
        # Through the kernel: both findings are one incident, so one card.
        run_detectors(services, now + timedelta(minutes=1), only=["tenant_leak"])
        with services.db.session() as session:
            from sqlmodel import select

            from storage.alerts_models import Alert

            alerts = list(session.exec(select(Alert)))
        assert len(alerts) == 1
    finally:
        services.close()


def test_redaction_keeps_little() -> None:
    assert redact("alcnabcdefghijkmnpqrstuvwx") == "alcn•••••••• (26 chars)"
    assert redact("Acme Corp") == "Ac••••••• (9 chars)"


def test_detect_json_a_minute_after_the_post_and_auto_trip(tmp_path, database_url) -> None:  # type: ignore[no-untyped-def]
    """The whole path a drill takes: canary CLI, POST over HTTP, `afterlaunch detect --json` a minute later."""
    import json
    import os
    import subprocess
    import sys

    import httpx

    from bot.app import create_app
    from bot.config import load_settings
    from bot.demo.server import BackgroundServer
    from tests.conftest import make_key

    config = tmp_path / "afterlaunch.toml"
    config.write_text(
        '[tenants.acme]\nidentifiers = ["Acme Corp"]\n[tenants.globex]\nidentifiers = ["Globex"]\n'
        '[[flags]]\nkey = "assistant"\n'
        '[[killswitch.auto_trip]]\nmatch = { detector = "tenant_leak" }\nflag = "assistant"\nscope = ["tenant"]\n'
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AFTERLAUNCH_CONFIG": str(config),
        "AFTERLAUNCH_DATA_DIR": str(tmp_path / "data"),
        "AFTERLAUNCH_SECRET_KEY": "test-secret-key-for-hashing",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, timeout=120
        )

    created = cli("canary", "create", "--tenant", "acme", "--count", "2", "--json")
    assert created.returncode == 0, created.stderr
    canaries = json.loads(created.stdout)
    assert len(canaries) == 2 and all(len(c) >= 16 for c in canaries)
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        config_file=config,
        secret_key="test-secret-key-for-hashing",
    )
    services = build_services(settings)
    try:
        key = make_key(services)
        now = datetime.now(UTC).replace(microsecond=0)
        doc = [{"doc_id": "acme-private-1", "source": "kb", "text": "x"}]
        events = [
            event(tenant="globex", response=f"ref {canaries[1]}", timestamp=now.isoformat()),
            event(tenant="globex", response="Acme Corp says hi", timestamp=now.isoformat()),
            event(tenant="acme", response="Acme Corp, at your service", context=doc, timestamp=now.isoformat()),
        ]
        with BackgroundServer(create_app(settings, services=services)) as server:
            r = httpx.post(
                f"{server.url}/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {key}"}
            )
        assert r.json()["accepted"] == 3
    finally:
        services.close()
    at = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    out = cli("detect", "--json", "--at", at, "--only", "tenant_leak")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    got = sorted((f["cause"], f["cohort"]["source_tenant"], f["cohort"]["tenant"]) for f in lines)
    assert got == [("canary", "acme", "globex"), ("identifier", "acme", "globex")]
    assert {f["detector"] for f in lines} == {"tenant_leak"} and {f["runbook"] for f in lines} == {"tenant-leak"}
    assert {f["severity"] for f in lines} == {"critical"}
    assert all(canaries[1] not in json.dumps(f) for f in lines)  # redacted outside the responders' view
    listed = cli("canary", "list")
    assert listed.returncode == 0 and canaries[0] not in listed.stdout and "acme" in listed.stdout
    # The auto-trip rule killed the assistant for the receiving tenant only.
    from storage import flags as flag_store

    services = build_services(settings)
    try:
        with services.db.session() as session:
            rules = flag_store.list_rules(session=session, flag_key="assistant")
    finally:
        services.close()
    assert [r.scope() for r in rules] == [{"tenant": "globex"}]  # the receiving tenant only
