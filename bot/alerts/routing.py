"""Where an alert's card goes, and who is on call at a moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.config import WEEKDAYS, OncallConfig
from bot.alerts.model import AlertIn
from bot.config import Settings


def default_channel(settings: Settings) -> str:
    """``[routing].default``, else ``[channels].default``, else ``AFTERLAUNCH_DEFAULT_CHANNEL``."""
    return settings.file.routing.default or settings.file.channels.default or settings.default_channel


def route_channel(settings: Settings, alert: AlertIn) -> str:
    """The first route whose every condition holds; a tenant route only ever takes that tenant's alerts."""
    tenant = alert.labels.get("tenant")
    for route in settings.file.routing.routes:
        if route.tenant is not None and route.tenant != tenant:
            continue
        if route.severity and alert.severity not in route.severity:
            continue
        if route.source is not None and route.source != alert.source:
            continue
        if any(alert.labels.get(k) != v for k, v in route.labels.items()):
            continue
        return route.channel
    return default_channel(settings)


def _rotation_index(cfg: OncallConfig, now: datetime) -> int:
    """How many weekly handoffs have happened since the rotation started, in the rotation's time zone."""
    zone = ZoneInfo(cfg.timezone)
    local = now.astimezone(zone)
    weekday = WEEKDAYS.index(cfg.handoff_day)
    last = datetime.combine(local.date() - timedelta(days=(local.weekday() - weekday) % 7), cfg.handoff_time, zone)
    if last > local:
        last -= timedelta(days=7)
    first = _first_handoff(cfg.rotation_start, weekday)
    return (last.date() - first).days // 7


def _first_handoff(start: date, weekday: int) -> date:
    return start - timedelta(days=(start.weekday() - weekday) % 7)


ScheduleLookup = Callable[[Settings, datetime], str | None]
_schedule: list[ScheduleLookup] = []


def use_schedule(lookup: ScheduleLookup) -> None:
    """The on-call schedule (calendar, overrides, rota) answers first; installed by the on-call capability."""
    _schedule[:] = [lookup]


def primary_oncall(settings: Settings, now: datetime) -> str | None:
    """The person (U…) or user group (S…) paged first: the schedule, an override, the rotation, or the group."""
    for lookup in _schedule:
        found = lookup(settings, now)
        if found is not None:
            return found
    cfg = settings.file.oncall
    for override in cfg.overrides:
        if override.start <= now < override.end:
            return override.user
    if cfg.users:
        return cfg.users[_rotation_index(cfg, now) % len(cfg.users)]
    return cfg.usergroup


def secondary_oncall(settings: Settings, now: datetime) -> str | None:
    """Who an unacknowledged page escalates to: the configured secondary, else the next in the rotation."""
    cfg = settings.file.oncall
    if cfg.secondary:
        return cfg.secondary
    primary = primary_oncall(settings, now)
    if len(cfg.users) >= 2:
        nxt = cfg.users[(_rotation_index(cfg, now) + 1) % len(cfg.users)]
        return nxt if nxt != primary else cfg.users[_rotation_index(cfg, now) % len(cfg.users)]
    if cfg.usergroup and cfg.usergroup != primary:
        return cfg.usergroup
    return None


def mention(who: str) -> str:
    """Slack mention markup for a user or a user group."""
    return f"<!subteam^{who}>" if who.startswith("S") else f"<@{who}>"
