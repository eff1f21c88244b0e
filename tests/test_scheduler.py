from __future__ import annotations

from datetime import UTC, datetime

from bot.scheduler import Job, Leadership, build_scheduler, run_job
from bot.services import Services, build_services


def test_only_one_replica_leads_and_a_successor_takes_over(services: Services) -> None:
    other = build_services(services.settings)  # a second replica on the same database
    first, second = Leadership(services), Leadership(other)
    try:
        assert first.is_leader()
        assert not second.is_leader()
        assert first.is_leader()  # leadership is kept, not re-contested
        first.release()
        assert second.is_leader()
        assert not first.is_leader()
    finally:
        first.release()
        second.release()
        other.close()


def test_jobs_run_only_on_the_leader_and_errors_do_not_escape(services: Services) -> None:
    other = build_services(services.settings)
    leader, follower = Leadership(services), Leadership(other)
    runs: list[str] = []

    def work(s: Services, now: datetime) -> None:
        runs.append(now.isoformat())

    def broken(s: Services, now: datetime) -> None:
        raise RuntimeError("detector bug")

    now = datetime(2026, 11, 26, tzinfo=UTC)
    try:
        assert run_job(Job("work", work, "interval", {"minutes": 1}), services, leader, now)
        assert not run_job(Job("work", work, "interval", {"minutes": 1}), other, follower, now)
        assert runs == [now.isoformat()]
        assert not run_job(Job("broken", broken, "interval", {"minutes": 1}), services, leader, now)
    finally:
        leader.release()
        follower.release()
        other.close()


def test_each_scheduler_has_its_own_memory_job_store(services: Services) -> None:
    jobs = [Job("work", lambda s, now: None, "interval", {"minutes": 1})]
    a = build_scheduler(services, jobs, Leadership(services))
    b = build_scheduler(services, jobs, Leadership(services))
    store_a, store_b = a._jobstores["default"], b._jobstores["default"]
    assert type(store_a).__name__ == "MemoryJobStore"
    assert store_a is not store_b
