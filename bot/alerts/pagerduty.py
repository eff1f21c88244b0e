"""Forwarding to PagerDuty Events API v2: trigger, acknowledge and resolve follow the card.

Each alert remembers the last action PagerDuty accepted (``pd_sent``), so a
forward is sent once per state change however often it is attempted, and the
``dedup_key`` is the alert's fingerprint, so PagerDuty itself dedupes retries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from bot.alerts.model import PAGED_SEVERITIES
from bot.services import Services
from storage import alerts as store
from storage.alerts_models import Alert

log = logging.getLogger(__name__)

PD_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info", "info": "info"}
MAX_ATTEMPTS = 4
MAX_WAIT_SECONDS = 10.0


class PagerDutyError(Exception):
    """PagerDuty refused or could not be reached; ``retry`` says whether trying later can help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class PagerDutyClient:
    """The one client for the Events API: timeouts, retries on 429/5xx honouring Retry-After."""

    def __init__(
        self,
        url: str,
        routing_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self._routing_key = routing_key
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._sleep = sleep

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def send(self, action: str, dedup_key: str, payload: dict[str, Any] | None = None) -> None:
        """Send one event; raises PagerDutyError after the retries are spent or on a 4xx."""
        body: dict[str, Any] = {"routing_key": self._routing_key, "event_action": action, "dedup_key": dedup_key}
        if payload is not None:
            body["payload"] = payload
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self._client.post(self.url, json=body)
            except httpx.HTTPError as exc:
                problem, wait = f"PagerDuty unreachable: {exc.__class__.__name__}", float(2**attempt) / 4
            else:
                if response.status_code < 300:
                    return
                if response.status_code != 429 and response.status_code < 500:
                    raise PagerDutyError(f"PagerDuty refused the event: HTTP {response.status_code}", retry=False)
                problem = f"PagerDuty answered HTTP {response.status_code}"
                wait = _retry_after(response.headers.get("retry-after"), attempt)
            if attempt == MAX_ATTEMPTS:
                raise PagerDutyError(problem, retry=True)
            log.warning("%s; retrying in %.1fs", problem, wait)
            self._sleep(wait)


def _retry_after(header: str | None, attempt: int) -> float:
    try:
        return min(float(header), MAX_WAIT_SECONDS) if header else float(2**attempt) / 4
    except ValueError:
        return float(2**attempt) / 4


def desired_action(alert: Alert) -> str:
    """The PagerDuty action matching the alert's state here."""
    if alert.status == "resolved":
        return "resolve"
    return "acknowledge" if alert.acked_at is not None else "trigger"


def event_payload(alert: Alert) -> dict[str, Any]:
    """The trigger event's payload: what PagerDuty shows and pages with."""
    return {
        "summary": alert.title[:1024],
        "source": f"afterlaunch/{alert.source}",
        "severity": PD_SEVERITY.get(alert.severity, "error"),
        "timestamp": alert.starts_at.isoformat(),
        "custom_details": {"labels": orjson.loads(alert.labels), "channel": alert.channel},
    }


def client_for(services: Services) -> PagerDutyClient | None:
    """The Events API client when a routing key is configured; None turns forwarding off."""
    key = services.settings.pagerduty_routing_key
    if key is None:
        return None
    return PagerDutyClient(services.settings.pagerduty_events_url, key.get_secret_value())


def forward_lagging(services: Services, now: datetime, *, client: PagerDutyClient | None = None) -> int:
    """Send PagerDuty what it has not heard yet; returns how many events it accepted."""
    own = client is None
    client = client or client_for(services)
    if client is None:
        return 0
    sent = 0
    try:
        with services.db.session() as session:
            lagging = store.list_pagerduty_lagging(session=session, severities=PAGED_SEVERITIES)
        for alert in lagging:
            action = desired_action(alert)
            if action == "trigger" and alert.source == "pagerduty":
                _record(services, alert.id, action, action)  # PagerDuty raised it: nothing to trigger
                continue
            try:
                client.send(action, alert.fingerprint, event_payload(alert) if action == "trigger" else None)
            except PagerDutyError as exc:
                log.warning("PagerDuty %s of alert %s not sent: %s", action, alert.id, exc)
                if exc.retry:
                    break  # PagerDuty is struggling: the next run tries again
                continue
            sent += _record(services, alert.id, action, action)
    finally:
        if own:
            client.close()
    return sent


def _record(services: Services, alert_id: int | None, expected: str, action: str) -> int:
    with services.db.write_session() as session:
        row = store.get_alert(session=session, alert_id=alert_id or 0, lock=True)
        if row is None or desired_action(row) != expected:
            return 0  # the state moved on meanwhile; the next run sends the newer action
        row.pd_sent = action
        session.add(row)
    return 1


_running = threading.Lock()
_again = threading.Event()


def forward_soon(services: Services) -> None:
    """Forward in the background so a webhook's answer never waits on PagerDuty; the job catches up."""
    if services.settings.pagerduty_routing_key is None:
        return
    _again.set()
    if not _running.acquire(blocking=False):
        return

    def run() -> None:
        try:
            while _again.is_set():
                _again.clear()
                try:
                    forward_lagging(services, datetime.now(UTC))
                except Exception:
                    log.exception("PagerDuty forwarding failed; the next run tries again")
        finally:
            _running.release()

    threading.Thread(target=run, name="afterlaunch-pagerduty", daemon=True).start()
