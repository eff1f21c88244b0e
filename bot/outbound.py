"""Outbound calls to providers' APIs (not Slack, whose SDK retries by itself): retries with backoff and jitter
on 429 and 5xx and on connection failures, waiting what a ``Retry-After`` header asks, through tenacity."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
"""A provider asking for longer is answered by giving up: the scheduled job tries again on its next run."""


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def retry_after(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _wait(backoff: Callable[[RetryCallState], float]) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _Retryable):
            asked = retry_after(failure.response)
            if asked is not None:
                return min(asked, MAX_RETRY_AFTER)
        return backoff(state)

    return wait


def send_with_retries(
    send: Callable[[], httpx.Response],
    *,
    attempts: int = 3,
    initial: float = 0.5,
    max_wait: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send, retrying what is worth retrying; the last answer comes back when retries run out.

    Connection failures left after the last attempt are raised (``httpx.TransportError``).
    """
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=_wait(wait_exponential_jitter(multiplier=initial, max=max_wait)),
        retry=retry_if_exception_type((httpx.TransportError, _Retryable)),
        sleep=sleep,
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                response = send()
                if response.status_code in RETRY_STATUSES:
                    raise _Retryable(response)
    except _Retryable as exc:
        return exc.response
    return response
