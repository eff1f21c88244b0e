"""On-call schedules from iCalendar: recurring events, moved occurrences, overrides, daylight saving, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.alerts.routing import primary_oncall
from bot.oncall import jobs, schedule
from bot.services import Services
from storage import incidents as store
from storage.alerts_models import Alert
from tests.alerts.helpers import configure, messages, text_of

# Two people alternate weekly at 09:00 Paris time; one week Carol takes Alice's Monday-to-Monday shift.
WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//afterlaunch tests//EN
BEGIN:VEVENT
UID:alice@rota
DTSTART;TZID=Europe/Paris:20270301T090000
DTEND;TZID=Europe/Paris:20270308T090000
RRULE:FREQ=WEEKLY;INTERVAL=2
SUMMARY:On call: U0ALICE01
END:VEVENT
BEGIN:VEVENT
UID:bob@rota
DTSTART;TZID=Europe/Paris:20270308T090000
DTEND;TZID=Europe/Paris:20270315T090000
RRULE:FREQ=WEEKLY;INTERVAL=2
SUMMARY:Bob
ATTENDEE;CN=U0BOB0001:mailto:bob@example.com
END:VEVENT
BEGIN:VEVENT
UID:alice@rota
RECURRENCE-ID;TZID=Europe/Paris:20270315T090000
DTSTART;TZID=Europe/Paris:20270315T090000
DTEND;TZID=Europe/Paris:20270322T090000
SUMMARY:Swap: U0CAROL01 covers
END:VEVENT
END:VCALENDAR
"""


def _use(services: Services, tmp_path: Path, text: str, **oncall: object) -> Path:
    path = tmp_path / "oncall.ics"
    path.write_text(text)
    configure(
        services,
        oncall={
            "users": ["U0ROTA0001"],
            "rotation_start": "2027-01-04",
            "timezone": "Europe/Paris",
            "calendar": str(path),
            "handoff_channel": "C0HANDOFF1",
            **oncall,
        },
    )
    schedule.install(services)
    return path


def _refresh(services: Services, now: datetime) -> str:
    schedule.STATE.forget(services)
    result = jobs.refresh_calendar(services, now)
    schedule.STATE.forget(services)
    return result


def paris(*args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)


def test_recurring_events_and_a_moved_occurrence(services: Services, tmp_path: Path) -> None:
    _use(services, tmp_path, WEEKLY)
    assert _refresh(services, paris(2027, 3, 2, 12)) == "ok"
    assert schedule.who(services, paris(2027, 3, 2, 12)) == schedule.OnCall("U0ALICE01", "calendar")
    assert schedule.who(services, paris(2027, 3, 8, 8, 59)).user == "U0ALICE01"
    assert schedule.who(services, paris(2027, 3, 8, 9, 0)).user == "U0BOB0001"  # named by the attendee
    assert schedule.who(services, paris(2027, 3, 16, 12)).user == "U0CAROL01"  # the moved occurrence
    assert schedule.who(services, paris(2027, 3, 29, 12)).user == "U0ALICE01"  # the series goes on
    assert primary_oncall(services.settings, paris(2027, 3, 9, 12)) == "U0BOB0001"  # paging follows it


def test_the_handoff_stays_at_nine_local_across_daylight_saving(services: Services, tmp_path: Path) -> None:
    _use(services, tmp_path, WEEKLY)
    _refresh(services, paris(2027, 3, 20))
    # Paris moves to summer time on 28 March 2027: 09:00 local is 08:00 UTC before and 07:00 UTC after.
    before = datetime(2027, 3, 22, 8, 0, tzinfo=UTC)
    after = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert schedule.who(services, before - timedelta(minutes=1)).user == "U0CAROL01"
    assert schedule.who(services, before).user == "U0BOB0001"
    assert schedule.who(services, after - timedelta(minutes=1)).user == "U0BOB0001"
    assert schedule.who(services, after).user == "U0ALICE01"
    current, when, following = schedule.now_and_next(services, datetime(2027, 3, 25, tzinfo=UTC))
    assert (current.user, when, following.user if following else None) == ("U0BOB0001", after, "U0ALICE01")


def test_a_configured_override_wins_over_the_calendar(services: Services, tmp_path: Path) -> None:
    override = {"user": "U0DAVE0001", "from": "2027-03-02T00:00:00Z", "to": "2027-03-03T00:00:00Z"}
    _use(services, tmp_path, WEEKLY, overrides=[override])
    _refresh(services, paris(2027, 3, 1, 12))
    assert schedule.who(services, paris(2027, 3, 2, 12)) == schedule.OnCall("U0DAVE0001", "override")
    assert schedule.who(services, paris(2027, 3, 3, 12)).user == "U0ALICE01"


def test_overlapping_and_empty_slots_fall_back_to_the_rota_and_say_so(services: Services, tmp_path: Path) -> None:
    overlap = WEEKLY.replace("DTEND;TZID=Europe/Paris:20270308T090000", "DTEND;TZID=Europe/Paris:20270309T090000")
    _use(services, tmp_path, overlap)
    _refresh(services, paris(2027, 3, 1))
    found = schedule.who(services, paris(2027, 3, 8, 12))
    assert found.user == "U0ROTA0001" and found.source == "rota"
    assert "overlapping calendar slots" in (found.note or "") and "U0ALICE01, U0BOB0001" in (found.note or "")
    early = schedule.who(services, paris(2027, 2, 1, 12))
    assert early.source == "rota" and "no calendar slot" in (early.note or "")
    assert "following the rota" in schedule.now_and_next_text(services, paris(2027, 2, 1, 12))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("this is not a calendar", "not valid iCalendar"),
        ("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", "has no events"),
        (WEEKLY.replace("SUMMARY:On call: U0ALICE01", "SUMMARY:Alice"), "names no Slack user"),
    ],
)
def test_a_bad_calendar_keeps_the_last_good_one_and_raises_one_card(
    services: Services, tmp_path: Path, text: str, problem: str
) -> None:
    path = _use(services, tmp_path, WEEKLY)
    start = paris(2027, 3, 2, 12)
    assert _refresh(services, start) == "ok"
    path.write_text(text)
    assert _refresh(services, start + timedelta(minutes=5)) == "not due"
    assert _refresh(services, start + timedelta(minutes=15)) == "failed"
    assert _refresh(services, start + timedelta(minutes=30)) == "failed"
    assert schedule.who(services, start + timedelta(minutes=30)).user == "U0ALICE01"  # the last good schedule
    said = schedule.now_and_next_text(services, start + timedelta(minutes=30))
    assert "the last calendar refresh failed" in said and problem in said and "is in use" in said
    with services.db.session() as session:
        cards = list(session.exec(select(Alert).where(Alert.fingerprint == jobs.CARD_FINGERPRINT)))
        state = store.get_state(session=session, key=schedule.STATE_KEY) or {}
    assert len(cards) == 1 and cards[0].status == "firing" and problem in cards[0].title
    assert problem in state["error"]
    posts = [m for m in messages(services) if m["kind"] == "post" and m["card_key"] == cards[0].card_key]
    assert len(posts) == 1
    path.write_text(WEEKLY)
    assert _refresh(services, start + timedelta(minutes=45)) == "ok"
    with services.db.session() as session:
        assert session.get(Alert, cards[0].id).status == "resolved"  # type: ignore[union-attr]


def test_an_unreachable_calendar_url_says_why(services: Services, tmp_path: Path) -> None:
    _use(services, tmp_path, WEEKLY)
    services.settings.file.oncall.calendar = "https://127.0.0.1:9/oncall.ics"
    assert _refresh(services, paris(2027, 3, 2)) == "failed"
    found = schedule.who(services, paris(2027, 3, 2))
    assert found.source == "rota" and "has not been read yet" in (found.note or "")
    with services.db.session() as session:
        state = store.get_state(session=session, key=schedule.STATE_KEY) or {}
    assert state["error"].startswith("could not fetch the calendar")


def test_a_handoff_lists_the_open_incidents(services: Services, tmp_path: Path) -> None:
    from bot.incidents.service import declare

    _use(services, tmp_path, WEEKLY)
    _refresh(services, paris(2027, 3, 7))
    declare(services, title="Leak in answers", severity="sev1", user="U0ALICE01", now=paris(2027, 3, 7))
    assert jobs.announce_handoff(services, paris(2027, 3, 8, 8)) is False  # first look: nothing to compare
    assert jobs.announce_handoff(services, paris(2027, 3, 8, 8, 30)) is False
    assert jobs.announce_handoff(services, paris(2027, 3, 8, 9)) is True
    [note] = [m for m in messages(services) if m["channel"] == "C0HANDOFF1"]
    assert "On call now: <@U0BOB0001> (from <@U0ALICE01>)" in text_of(note) and "Leak in answers" in text_of(note)
