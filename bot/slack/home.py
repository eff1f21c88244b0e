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
from bot.cards.text import render
from bot.scheduler import Job
from bot.services import Services
from bot.slack.post import publish_home
from storage import outbox as store
from storage import rollups

Block = dict[str, Any]
Section = Callable[[Services, datetime], list[Block]]
RECENT_VIEWERS = timedelta(days=14)
REFRESH_ACTION = "home_refresh"


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def spend_today(services: Services, now: datetime) -> list[Block]:
    """Today's spend per tenant, against the day budgets (month budgets at their daily pace)."""
    start = int(day_start(now).timestamp())
    end = int(now.timestamp()) // 60 * 60 + 60
    with services.db.session() as session:
        tenants = rollups.list_cohorts(session=session, start=start, end=end, group_by=["tenant"])
    total = sum(t.totals["cost_usd"] for t in tenants)
    budgets = []
    for budget in services.settings.file.budgets:
        daily = budget.usd if budget.period == "day" else budget.usd / 30
        scope = ", ".join(f"{k}={v}" for k, v in budget.cohort.items()) or "all traffic"
        spent = total
        if set(budget.cohort) == {"tenant"}:
            spent = sum(t.totals["cost_usd"] for t in tenants if t.cohort["tenant"] == budget.cohort["tenant"])
        budgets.append({"scope": scope, "spent": spent, "daily": daily, "share": spent / daily if daily else 0})
    rows = [
        {"tenant": t.cohort["tenant"], "cost": t.totals["cost_usd"], "requests": int(t.totals["requests"])}
        for t in tenants[:10]
    ]
    text = render("home_spend.md.j2", total=total, rows=rows, budgets=budgets)
    return [b.header("Spend today (UTC)"), b.section(text)]


def sections() -> list[Section]:
    """Home sections in display order; capabilities add theirs here."""
    from bot.alerts.home import open_alerts
    from bot.flags.slack import home_section as kill_switches

    return [spend_today, open_alerts, kill_switches]


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
