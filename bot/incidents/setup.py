"""What the capability prepares when services are built: paging follows the schedule; MTTA/MTTR on /metrics."""

from __future__ import annotations

import threading

from bot import metrics
from bot.incidents.mtt import MttCollector
from bot.services import Services

_lock = threading.Lock()
_collector: MttCollector | None = None


def setup(services: Services) -> None:
    """Install the on-call schedule for paging, and point the /metrics gauges at this deployment."""
    global _collector
    from bot.oncall import schedule

    schedule.install(services)
    with _lock:
        if _collector is None:
            _collector = MttCollector(services)
            metrics.REGISTRY.register(_collector)
        else:
            _collector.services = services
            _collector.forget()
