"""The fallback-share alarm against an injected clock: when it fires, when it must not, on young history."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.latency.detector import detect
from bot.latency.world import FALLBACK, World, ramp, true_crossing
from bot.services import Services
from tests.latency.helpers import T0, configure, write_rows

START = int(T0.timestamp()) - 8 * 3600


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _fallback(findings: list, intent: str) -> list:
    return [f for f in findings if f.labels.get("cause") == "fallback_share" and f.labels.get("intent") == intent]


def test_share_alarm_fires_within_15_minutes_of_the_crossing_and_not_before(services: Services) -> None:
    """Launch-day history (8 hours); the fallback climbs 3% -> 15% over an hour in one intent."""
    configure(services, fallback_paths=[FALLBACK])
    climb = START + 5 * 3600
    world = World(share_of={"billing_question": ramp(climb, climb + 3600, 0.03, 0.15)})
    end = START + 8 * 3600
    write_rows(services, world.rows(START, end))
    crossing = true_crossing(world, "billing_question", START, end, 0.10)
    assert crossing is not None and climb < crossing < end - 1800
    first_alarm = None
    for now in range(crossing - 20 * 60, crossing + 16 * 60, 60):
        firing = _fallback(detect(services, _at(now)), "billing_question")
        if now <= crossing:  # the crossing minute is not complete yet
            assert firing == [], f"fired {(crossing - now) // 60} minutes before the crossing"
        elif firing and first_alarm is None:
            first_alarm = now
            f = firing[0]
            assert f.labels["path"] == FALLBACK
            assert f.started_at == _at(crossing)
            assert f.key == f"latency:fallback_share:billing_question:{FALLBACK}"
    assert first_alarm is not None, "no alarm within 15 minutes of the crossing"
    assert first_alarm - crossing <= 15 * 60
    # Other intents at their usual 3% stay quiet all along.
    assert all(f.labels["intent"] == "billing_question" for f in detect(services, _at(crossing + 15 * 60)))


def test_the_alarm_holds_at_every_incident_age_with_the_same_key_and_crossing(services: Services) -> None:
    configure(services, fallback_paths=[FALLBACK])
    climb = START + 60 * 60
    world = World(share_of={"order_status": ramp(climb, climb + 3600, 0.03, 0.15)})
    end = START + 10 * 3600
    write_rows(services, world.rows(START, end))
    crossing = true_crossing(world, "order_status", START, end, 0.10)
    assert crossing is not None
    keys, starts = set(), set()
    for age in (5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 8 * 3600):
        firing = _fallback(detect(services, _at(crossing + age)), "order_status")
        assert len(firing) == 1, f"age {age // 60} min"
        keys.add(firing[0].key)
        starts.add(firing[0].started_at)
    assert len(keys) == 1
    # Five hours later the crossing is still found; past the look-back it is reported as "before".
    assert _at(crossing) in starts


def test_a_one_minute_touch_of_11_percent_does_not_page(services: Services) -> None:
    configure(services, fallback_paths=[FALLBACK])
    touch = START + 3 * 3600

    def burst(minute: int) -> float:
        return 0.11 if minute == touch else 0.03

    world = World(share_of={"billing_question": burst})
    end = START + 4 * 3600
    write_rows(services, world.rows(START, end))
    for now in range(touch, touch + 30 * 60, 60):
        assert _fallback(detect(services, _at(now)), "billing_question") == []


def test_a_short_burst_above_the_line_does_not_page_either(services: Services) -> None:
    """Ten minutes at 40%: the short window is far above, the hour stays under the line."""
    configure(services, fallback_paths=[FALLBACK])
    burst_at = START + 3 * 3600

    def burst(minute: int) -> float:
        return 0.25 if burst_at <= minute < burst_at + 180 else 0.03

    world = World(share_of={"account_help": burst})
    end = START + 4 * 3600
    write_rows(services, world.rows(START, end))
    assert true_crossing(world, "account_help", START, end, 0.10) is None
    for now in range(burst_at, burst_at + 30 * 60, 60):
        assert _fallback(detect(services, _at(now)), "account_help") == []


def test_the_alarm_clears_by_itself_when_the_share_falls_back(services: Services) -> None:
    configure(services, fallback_paths=[FALLBACK])
    up, down = START + 2 * 3600, START + 4 * 3600

    def curve(minute: int) -> float:
        return 0.2 if up <= minute < down else 0.03

    world = World(share_of={"product_search": curve})
    end = START + 6 * 3600
    write_rows(services, world.rows(START, end))
    assert _fallback(detect(services, _at(down - 60)), "product_search")
    assert _fallback(detect(services, _at(down + 90 * 60)), "product_search") == []


def test_young_history_of_two_hours_is_enough(services: Services) -> None:
    """A service launched two hours ago whose fallback already serves a fifth of an intent."""
    configure(services, fallback_paths=[FALLBACK])
    launch = int(T0.timestamp()) - 2 * 3600
    world = World(share_of={"billing_question": lambda m: 0.2})
    write_rows(services, world.rows(launch, int(T0.timestamp())))
    firing = _fallback(detect(services, T0), "billing_question")
    assert len(firing) == 1
    assert firing[0].started_at >= _at(launch)
