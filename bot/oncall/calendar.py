"""An iCalendar schedule read into on-call slots: recurring events, moved occurrences, time zones.

Each event's summary (or one attendee) names the Slack user on call, e.g.
``On call: U0ALICE01`` or an attendee ``CN=U0ALICE01``. Parsing uses
``icalendar`` and ``recurring-ical-events``, which expand RRULEs, EXDATEs and
single moved occurrences (RECURRENCE-ID) in the event's own time zone, so a
daylight-saving change keeps a 09:00 handoff at 09:00 local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import recurring_ical_events

USER_ID = re.compile(r"\b([UW][A-Z0-9]{6,})\b")
FETCH_TIMEOUT = 10.0
MAX_BYTES = 5_000_000


class CalendarError(Exception):
    """The calendar could not be read or understood; the message says what was wrong."""


@dataclass(frozen=True)
class Slot:
    """Someone on call between two moments (UTC)."""

    start: datetime
    end: datetime
    user: str
    summary: str


def fetch(source: str) -> str:
    """The calendar's text from a file path or an https:// URL."""
    if source.startswith("https://"):
        try:
            response = httpx.get(source, timeout=FETCH_TIMEOUT, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise CalendarError(f"could not fetch the calendar: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise CalendarError(f"the calendar URL answered HTTP {response.status_code}")
        if len(response.content) > MAX_BYTES:
            raise CalendarError(f"the calendar is larger than {MAX_BYTES} bytes")
        return response.text
    path = Path(source)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise CalendarError(f"the calendar file is larger than {MAX_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"could not read the calendar file {path.name}: {exc.strerror or exc}") from exc


def parse(text: str) -> icalendar.Calendar:
    """Parse, refusing what is not a calendar with events."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as exc:
        raise CalendarError(f"the calendar is not valid iCalendar: {str(exc)[:200]}") from exc
    if calendar.name != "VCALENDAR":
        raise CalendarError("the file does not start with BEGIN:VCALENDAR")
    if not calendar.walk("VEVENT"):
        raise CalendarError("the calendar has no events")
    return calendar


def _moment(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.combine(value, time(0), zone)


def _user(event: icalendar.Event) -> str | None:
    found = USER_ID.search(str(event.get("SUMMARY", "")))
    if found:
        return found.group(1)
    attendees = event.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        for text in (str(getattr(attendee, "params", {}).get("CN", "")), str(attendee)):
            found = USER_ID.search(text)
            if found:
                return found.group(1)
    return None


def slots(calendar: icalendar.Calendar, start: datetime, end: datetime, zone: ZoneInfo) -> list[Slot]:
    """Every occurrence overlapping [start, end), with its user; events naming nobody are refused."""
    try:
        events = recurring_ical_events.of(calendar).between(start, end)
    except Exception as exc:  # the library raises many kinds on broken rules
        raise CalendarError(f"the calendar's recurrence rules could not be expanded: {str(exc)[:200]}") from exc
    out = []
    for event in events:
        begin = _moment(event["DTSTART"].dt, zone)
        finish = _moment(event["DTEND"].dt, zone) if "DTEND" in event else begin + timedelta(days=1)
        user = _user(event)
        summary = str(event.get("SUMMARY", ""))[:200]
        if user is None:
            raise CalendarError(f"the event “{summary[:80]}” on {begin:%Y-%m-%d} names no Slack user (U…)")
        out.append(Slot(begin.astimezone(ZoneInfo("UTC")), finish.astimezone(ZoneInfo("UTC")), user, summary))
    return sorted(out, key=lambda s: (s.start, s.user))


def at(found: list[Slot], moment: datetime) -> list[Slot]:
    """The slots covering a moment."""
    return [s for s in found if s.start <= moment < s.end]
