"""Webhook-to-card latency under a burst: alert POSTed -> card recorded by the Slack stand-in.

    python bench/alerts.py [--alerts 100] [--channels 25] [--clients 8]

Runs the real service (uvicorn on loopback, its own outbox sender) on a fresh
SQLite file in Slack mode against the Slack Web API stand-in of the test suite
(tests/fake_slack, which enforces Slack's per-channel posting limit: a burst of
3, then one message a second). Sends a burst of generic-webhook alerts from
concurrent clients, spread over channels by routing labels and kept under the
storm threshold so each alert gets its own card, then resends them all (resends
update cards in place). Prints p50/p95/max of: webhook answer time,
webhook-accepted to chat.postMessage, and resend-accepted to chat.update.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import create_app
from bot.config import FileConfig, load_settings
from bot.demo.server import BackgroundServer
from bot.services import build_services
from tests.fake_slack import FakeSlack

TOKEN = "bench-webhook-token-31f0"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<40} p50 {percentile(ms, 0.5):7.0f} ms   p95 {percentile(ms, 0.95):7.0f} ms   "
        f"max {max(ms):7.0f} ms   mean {statistics.fmean(ms):7.0f} ms"
    )


def wait_for_texts(fake: FakeSlack, method: str, ids: list[str], timeout: float) -> dict[str, float]:
    """When the stand-in first recorded a successful call of ``method`` naming each id."""
    deadline = time.monotonic() + timeout
    seen: dict[str, float] = {}
    while time.monotonic() < deadline and len(seen) < len(ids):
        for call in fake.calls(method):
            if call.failed or call.status != 200:
                continue
            text = str(call.body.get("text", ""))
            for alert_id in ids:
                if alert_id not in seen and f"[{alert_id}]" in text:
                    seen[alert_id] = call.at
        time.sleep(0.05)
    return seen


def run(alerts: int, channels: int, clients: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="afterlaunch-bench-alerts-"))
    with FakeSlack() as fake:
        settings = load_settings(
            data_dir=folder,
            database_url=f"sqlite:///{folder / 'afterlaunch.db'}",
            config_file=folder / "afterlaunch.toml",
            slack_bot_token=fake.token,
            slack_signing_secret="bench-signing-secret-0c4f2a",
            slack_api_url=fake.api_url,
            webhook_token=TOKEN,
            scheduler=False,
        )
        routes = [{"channel": f"#bench-{k}", "labels": {"team": f"t{k}"}} for k in range(channels)]
        settings.file = FileConfig.model_validate({"routing": {"routes": routes, "storm_threshold": 1000}})
        for k in range(channels):
            fake.add_channel(f"C0BENCH{k:04d}", f"bench-{k}")
        services = build_services(settings)
        now = datetime.now(UTC).isoformat()
        ids = [f"b{n:05d}" for n in range(alerts)]

        def body(n: int) -> dict:
            alert = {
                "id": ids[n],
                "status": "firing",
                "title": f"[{ids[n]}] queue backing up",
                "severity": "medium",
                "starts_at": now,
                "labels": {"team": f"t{n % channels}"},
            }
            return {"alerts": [alert]}

        with BackgroundServer(create_app(settings, services=services)) as server:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:

                def send(n: int) -> tuple[str, float, float]:
                    began = time.time()
                    response = client.post("/webhooks/generic", json=body(n))
                    response.raise_for_status()
                    return ids[n], began, time.time()

                burst_began = time.monotonic()
                with ThreadPoolExecutor(clients) as pool:
                    sent = list(pool.map(send, range(alerts)))
                burst = time.monotonic() - burst_began
                posted = wait_for_texts(fake, "chat.postMessage", ids, timeout=60 + alerts / channels * 1.5)
                limited = sum(c.status == 429 for c in fake.calls())
                fake.clear()
                with ThreadPoolExecutor(clients) as pool:
                    resent = list(pool.map(send, range(alerts)))
                updated = wait_for_texts(fake, "chat.update", ids, timeout=60)
        services.close()

    accept = [done - began for _, began, done in sent]
    to_card = [posted[i] - done for i, _, done in sent if i in posted]
    to_update = [updated[i] - done for i, _, done in resent if i in updated]
    first = [posted[i] - done for i, _, done in sent if i in posted and int(i[1:]) < channels]
    per_channel = alerts / channels
    print(f"alerts: {alerts} in a burst of {burst:.2f} s from {clients} clients, over {channels} channels")
    print(f"        ({per_channel:.0f} per channel; Slack allows a burst of 3 then 1 post/s per channel)")
    print(summary("webhook answered (POST -> 200)", accept))
    print(summary("webhook accepted -> card posted", to_card))
    print(summary("  first card of each channel", first))
    print(summary("resend accepted -> card updated", to_update))
    limited += sum(c.status == 429 for c in fake.calls())
    print(f"cards posted {len(posted)}/{alerts}, updated {len(updated)}/{alerts}; HTTP 429 from Slack: {limited}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--channels", type=int, default=25)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    run(args.alerts, args.channels, args.clients)


if __name__ == "__main__":
    main()
