"""The scale-out files: compose structure (docker cannot run here), nginx upstreams, the dashboard's metrics."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from bot import metrics
from bot.ingest.service import Writer, ingest
from bot.metrics import BoundedLabels
from bot.services import Services
from tests.ingest.factory import event

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_compose_runs_postgres_three_replicas_and_a_load_balancer() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    replicas = sorted(name for name in services if name.startswith("afterlaunch-"))
    assert replicas == ["afterlaunch-1", "afterlaunch-2", "afterlaunch-3"]
    for name in replicas:
        replica = services[name]
        assert replica["build"]["dockerfile"] == "Dockerfile"
        assert (DEPLOY / replica["build"]["context"] / "Dockerfile").exists()
        assert replica["environment"]["AFTERLAUNCH_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in replica["environment"]["AFTERLAUNCH_DATABASE_URL"]
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert replica["env_file"] == [".env"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert set(services["nginx"]["depends_on"]) == set(replicas)
    mount = services["nginx"]["volumes"][0].split(":")[0]
    nginx = (DEPLOY / mount).read_text()
    assert sorted(re.findall(r"server (afterlaunch-\d):3000", nginx)) == replicas
    assert "proxy_pass http://afterlaunch;" in nginx
    example = (DEPLOY / ".env.example").read_text()
    for name in ("POSTGRES_PASSWORD", "AFTERLAUNCH_SECRET_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        assert f"{name}=" in example


def test_dashboard_charts_only_metrics_the_service_exports() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "afterlaunch.json").read_text())
    exported = {m.name for m in metrics.REGISTRY.collect()}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_(bucket|total|sum|count)$", "", n) for e in exprs for n in re.findall(r"afterlaunch_\w+", e)}
    assert used - {re.sub(r"_total$", "", n) for n in exported} == set()
    titles = " ".join(p["title"] for p in dashboard["panels"])
    assert "Spend per tenant" in titles and "Refusal rate per category" in titles and "latency" in titles


def test_product_metrics_follow_stored_events_with_bounded_labels(services: Services) -> None:
    now = datetime.now(UTC)
    ts = (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    before = metrics.LLM_COST.labels("metricsco")._value.get()
    batch = [event(tenant="metricsco", timestamp=ts, cost_usd=0.25, path="rag", latency_ms=900.0) for _ in range(4)]
    ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=now)
    ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=now)  # duplicates: not counted
    assert metrics.LLM_COST.labels("metricsco")._value.get() - before == 1.0
    text = generate_latest(metrics.REGISTRY).decode()
    assert 'afterlaunch_llm_latency_seconds_bucket{le="1.0",path="rag"}' in text

    bounded = BoundedLabels(limit=3)
    assert [bounded(v) for v in ["a", "b", "c", "d", "a", ""]] == ["a", "b", "c", "other", "a", "other"]
