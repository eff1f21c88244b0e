"""The App Home: what an on-call person wants at a glance, refreshed when it changes.

Each capability contributes a section (a function returning blocks); the Home
is republished (views.publish, through the outbox) for recent viewers whenever
a section's content changes, and by a periodic job for spend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cards import blocks as b
from bot.scheduler import Job
from bot.services import Services
from bot.slack.post import publish_home
from storage import outbox as store

Block = dict[str, Any]
Section = Callable[[Services, datetime], list[Block]]
RECENT_VIEWERS = timedelta(days=14)
REFRESH_ACTION = "home_refresh"


def sections() -> list[Section]:
    """Home sections in display order: each installed capability's, in the order of the list."""
    from bot.capabilities import installed

    return [section for capability in installed() for section in capability.home_sections]


def build_home(services: Services, now: datetime) -> dict[str, Any]:
    blocks: list[Block] = [b.section("*afterlaunch* · on-call view of the AI feature")]
    for section in sections():
        blocks += [b.divider(), *section(services, now)]
    blocks.append(b.context(f"Updated {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC"))
    blocks.append(b.actions(b.button("Refresh", REFRESH_ACTION, value="home")))
    return b.home(blocks)


def open_home(services: Services, user_id: str, now: datetime) -> None:
    """A user opened the Home tab: remember them and publish their view."""
    view = build_home(services, now)
    with services.db.write_session() as session:
        store.record_home_viewer(session=session, user_id=user_id, now=now)
        publish_home(session=session, user=user_id, view=view, now=now)
    services.wake_outbox.set()


def refresh_homes(services: Services, now: datetime) -> int:
    """Republish the Home of recent viewers (after an alert, a toggle, or on the timer)."""
    view = build_home(services, now)
    with services.db.write_session() as session:
        viewers = store.list_home_viewers(session=session, since=now - RECENT_VIEWERS)
        for user in viewers:
            publish_home(session=session, user=user, view=view, now=now)
    services.wake_outbox.set()
    return len(viewers)


JOBS = [Job(id="home_refresh", run=refresh_homes, trigger="interval", trigger_args={"minutes": 5})]
