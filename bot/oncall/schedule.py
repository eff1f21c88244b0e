"""Who is on call at a moment: an override, else the calendar (when set and clear), else the rota.

The calendar's last good text lives in the database (``oncall_state``), written
by the refresh job on the leader; every replica reads it from there. Parsed
calendars are cached per text only, so a new fetch is seen at once.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

from bot.alerts import routing
from bot.config import Settings
from bot.oncall import calendar as ical
from bot.services import Services
from storage import incidents as store

STATE_KEY = "calendar"
LOOKAHEAD = timedelta(days=8)
STATE_CACHE_SECONDS = 15.0


@dataclass(frozen=True)
class OnCall:
    """Who is on call and why: ``source`` is override, calendar, rota, usergroup or nobody."""

    user: str | None
    source: str
    note: str | None = None


@lru_cache(maxsize=4)
def _parsed(digest: str, text: str) -> icalendar.Calendar:
    return ical.parse(text)


class _StateCache:
    """The calendar text read from the database at most every few seconds per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: dict[int, tuple[float, str | None]] = {}

    def text(self, services: Services) -> str | None:
        import time

        with self._lock:
            hit = self._at.get(id(services))
            if hit and time.monotonic() - hit[0] < STATE_CACHE_SECONDS:
                return hit[1]
        with services.db.session() as session:
            state = store.get_state(session=session, key=STATE_KEY) or {}
        text = state.get("content")
        with self._lock:
            self._at[id(services)] = (time.monotonic(), text)
        return text

    def forget(self, services: Services) -> None:
        with self._lock:
            self._at.pop(id(services), None)


STATE = _StateCache()


def _rota(settings: Settings, now: datetime) -> OnCall:
    cfg = settings.file.oncall
    if cfg.users:
        return OnCall(cfg.users[routing._rotation_index(cfg, now) % len(cfg.users)], "rota")
    if cfg.usergroup:
        return OnCall(cfg.usergroup, "usergroup")
    return OnCall(None, "nobody")


def calendar_slots(services: Services, start: datetime, end: datetime) -> list[ical.Slot] | None:
    """The calendar's slots in a range, from the last good text; None without a calendar or text."""
    if not services.settings.file.oncall.calendar:
        return None
    text = STATE.text(services)
    if text is None:
        return None
    zone = ZoneInfo(services.settings.file.oncall.timezone)
    calendar = _parsed(hashlib.sha256(text.encode()).hexdigest(), text)
    return ical.slots(calendar, start, end, zone)


def who(services: Services, now: datetime, slots: list[ical.Slot] | None = None) -> OnCall:
    """Override > calendar > rota; the calendar is skipped, with a note saying why, when it is not clear."""
    settings = services.settings
    cfg = settings.file.oncall
    for override in cfg.overrides:
        if override.start <= now < override.end:
            return OnCall(override.user, "override")
    if not cfg.calendar:
        return _rota(settings, now)
    try:
        found = (
            slots if slots is not None else calendar_slots(services, now - timedelta(days=1), now + timedelta(days=1))
        )
    except ical.CalendarError as exc:
        return _with_note(_rota(settings, now), f"the calendar could not be used ({exc}); following the rota")
    if found is None:
        return _with_note(_rota(settings, now), "the calendar has not been read yet; following the rota")
    here = ical.at(found, now)
    users = sorted({s.user for s in here})
    if len(users) == 1:
        return OnCall(users[0], "calendar")
    when = f"{now:%Y-%m-%d %H:%M} UTC"
    if users:
        note = f"overlapping calendar slots at {when} ({', '.join(users)}); following the rota"
    else:
        note = f"no calendar slot at {when}; following the rota"
    return _with_note(_rota(settings, now), note)


def _with_note(found: OnCall, note: str) -> OnCall:
    return OnCall(found.user, found.source, note)


def _boundaries(services: Services, now: datetime, slots: list[ical.Slot] | None) -> list[datetime]:
    cfg = services.settings.file.oncall
    moments = {o.start for o in cfg.overrides} | {o.end for o in cfg.overrides}
    for s in slots or []:
        moments |= {s.start, s.end}
    zone = ZoneInfo(cfg.timezone)
    local = now.astimezone(zone)
    for day in range(9):
        moments.add(datetime.combine(local.date() + timedelta(days=day), cfg.handoff_time, zone).astimezone(now.tzinfo))
    return sorted(m for m in moments if now < m <= now + LOOKAHEAD)


def now_and_next(services: Services, now: datetime) -> tuple[OnCall, datetime | None, OnCall | None]:
    """Who is on call now, and the next change within eight days (when, who)."""
    try:
        slots = calendar_slots(services, now - timedelta(days=1), now + LOOKAHEAD)
    except ical.CalendarError:
        slots = None
    current = who(services, now, slots)
    for moment in _boundaries(services, now, slots):
        following = who(services, moment, slots)
        if following.user != current.user:
            return current, moment, following
    return current, None, None


def now_and_next_text(services: Services, now: datetime) -> str:
    """The /oncall answer."""
    current, when, following = now_and_next(services, now)
    lines = [f"*Now:* {_name(current)} ({current.source})"]
    if current.note:
        lines.append(f":warning: {current.note}")
    if services.settings.file.oncall.calendar:
        with services.db.session() as session:
            state = store.get_state(session=session, key=STATE_KEY) or {}
        if state.get("error"):
            kept = (
                f"the copy read at {state['ok_at'][:16]} UTC is in use" if state.get("ok_at") else "none was read yet"
            )
            lines.append(f":warning: the last calendar refresh failed: {state['error']}; {kept}")
    if when is not None and following is not None:
        lines.append(
            f"*Next:* {_name(following)} from <!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|"
            f"{when:%Y-%m-%d %H:%M} UTC> ({following.source})"
        )
    else:
        lines.append("*Next:* no change in the next eight days")
    return "\n".join(lines)


def _name(found: OnCall) -> str:
    return routing.mention(found.user) if found.user else "nobody"


_INSTALLED: dict[int, Services] = {}


def install(services: Services) -> None:
    """Let paging (``routing.primary_oncall``) follow this schedule for these settings."""
    _INSTALLED[id(services.settings)] = services
    routing.use_schedule(lambda settings, now: _lookup(settings, now))


def _lookup(settings: Settings, now: datetime) -> str | None:
    services = _INSTALLED.get(id(settings))
    if services is None or services.settings is not settings:
        return None
    return who(services, now).user
