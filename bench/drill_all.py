"""``afterlaunch drill all`` on a fresh SQLite instance holding the demo's traffic: how long it takes.

Runs the demo (three tenants, ``--days`` of traffic at ``--per-day``) into a temporary folder with
a ready configuration, serves it on loopback, then runs every drill step against it and prints
each step's score, the elapsed time (goal: 5 minutes on the 2-core machine) and the load average.

    .venv/bin/python bench/drill_all.py [--days 7] [--per-day 3000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

READY = """
[oncall]
users = ["U0PRIMARY", "U0SECOND"]

[[budgets]]
cohort = { tenant = "acme" }
usd = 2000
[[budgets]]
cohort = { tenant = "globex" }
usd = 2000
[[budgets]]
cohort = { tenant = "initech" }
usd = 2000

[[flags]]
key = "assistant"
owner = "U0PRIMARY"
[[flags]]
key = "assistant.agent_tools"
owner = "U0PRIMARY"

[latency]
fallback_paths = ["deep_retrieval"]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-day", type=int, default=3000)
    args = parser.parse_args()
    from bot.app import create_app
    from bot.config import load_settings
    from bot.demo.run import run_demo
    from bot.demo.server import BackgroundServer
    from bot.drill.run import INCIDENTS, run_drill
    from bot.services import build_services

    folder = Path(tempfile.mkdtemp(prefix="afterlaunch-drill-bench-"))
    (folder / "afterlaunch.toml").write_text(READY, encoding="utf-8")
    run_demo(data_dir=folder, days=args.days, per_day=args.per_day)
    settings = load_settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'afterlaunch.db'}",
        config_file=folder / "afterlaunch.toml",
        slack_bot_token=None,
        webhook_token="demo-webhook-token",
    )
    services = build_services(settings)
    with BackgroundServer(create_app(settings, services=services)) as server:
        began = time.perf_counter()
        results = run_drill(services, server.url, list(INCIDENTS), datetime.now(UTC))
        elapsed = time.perf_counter() - began
    services.close()
    print(f"\n== drill all: demo traffic {args.days} days x {args.per_day}/day, SQLite ==")
    for r in results:
        print(
            f"{r.incident:10} fired={r.fired!s:5} cause={r.card_cause or '-':24} runbook={r.runbook or '-':26} "
            f"onset_to_card_s={r.onset_to_card_s} problems={r.problems}"
        )
    print(f"elapsed: {elapsed:.1f} s (goal: 300 s)  load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
