"""Work after an ack waits for the acks in flight, but never longer than its bound."""

from __future__ import annotations

import threading
import time

from bot.slack.ackfirst import AckFirst, WorkAfterAck


def test_work_waits_until_no_ack_is_in_flight() -> None:
    gate = AckFirst(max_wait_s=10)
    pool = WorkAfterAck(gate, max_workers=2)
    ran = threading.Event()
    with gate.acking():
        with gate.acking():
            future = pool.submit(ran.set)
            time.sleep(0.2)
            assert not ran.is_set()
        assert gate.in_flight == 1
        time.sleep(0.1)
        assert not ran.is_set()  # one ack still in flight
    assert future.result(timeout=5) is None
    assert ran.is_set()
    assert gate.in_flight == 0
    pool.shutdown()


def test_work_is_not_starved_by_a_steady_stream_of_acks() -> None:
    gate = AckFirst(max_wait_s=0.3)
    pool = WorkAfterAck(gate, max_workers=1)
    with gate.acking():
        began = time.monotonic()
        future = pool.submit(lambda: time.monotonic())
        finished_at = future.result(timeout=5)
    assert 0.25 <= finished_at - began < 3


def test_results_and_errors_pass_through() -> None:
    pool = WorkAfterAck(AckFirst(), max_workers=1)
    assert pool.submit(lambda a, b=0: a + b, 2, b=3).result(timeout=5) == 5

    def boom() -> None:
        raise ValueError("listener failed")

    error = pool.submit(boom).exception(timeout=5)
    assert isinstance(error, ValueError)
    pool.shutdown()
