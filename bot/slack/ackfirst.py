"""Acks before work: the work after an ack waits while other requests are still being acked.

Acks and the work after them (rollup queries, card rendering, answers to Slack) share one
interpreter. Slack gives an ack 3 seconds and the work 30 minutes (a ``response_url``
stays valid that long), so when a burst of commands arrives the acks go first and the
work queues behind them for at most ``max_wait`` seconds, instead of every thread
taking turns on the interpreter and every ack finishing late.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

MAX_WAIT_S = 2.0
"""Work never waits longer than this for acks, so a steady stream of requests cannot starve it."""


class AckFirst:
    """Counts the requests being acked; work after an ack waits until that count is zero."""

    def __init__(self, max_wait_s: float = MAX_WAIT_S) -> None:
        self._idle = threading.Condition()
        self._acking = 0
        self.max_wait_s = max_wait_s

    @contextlib.contextmanager
    def acking(self) -> Iterator[None]:
        """Mark one request as being acked for the duration of the block."""
        with self._idle:
            self._acking += 1
        try:
            yield
        finally:
            with self._idle:
                self._acking -= 1
                if self._acking == 0:
                    self._idle.notify_all()

    @property
    def in_flight(self) -> int:
        return self._acking

    def wait_turn(self) -> bool:
        """Block until no ack is in flight (or ``max_wait_s`` passed); True if the acks drained."""
        with self._idle:
            return self._idle.wait_for(lambda: self._acking == 0, timeout=self.max_wait_s)


class WorkAfterAck(ThreadPoolExecutor):
    """The executor Bolt runs lazy listeners on: each job waits its turn behind the acks."""

    def __init__(self, gate: AckFirst, max_workers: int, thread_name_prefix: str = "afterlaunch-lazy") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self.gate = gate

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def after_acks() -> Any:
            self.gate.wait_turn()
            return fn(*args, **kwargs)

        return super().submit(after_acks)
