"""Night parking's decision (decide/night.py): the owner's tag read exactly, the nights judged in the endpoint's
own time zone, traffic at night -> not proposed and said why."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from endpoint_optimizer.decide.changes import Hourly
from endpoint_optimizer.decide.night import PARK_AT_NIGHT_TAG, NightWindow, night_verdict, parse_window

START = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)  # a Monday
HOURS = 14 * 24


def day_traffic(extra: dict[int, float] | None = None) -> Hourly:
    """Invocations 09-17 UTC every day, plus `extra` at given hour indices."""
    values = [50.0 if 9 <= (START + timedelta(hours=i)).hour < 17 else 0.0 for i in range(HOURS)]
    for index, value in (extra or {}).items():
        values[index] = value
    return Hourly(values=values, start=START, offset=0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("22:00-06:00", NightWindow(time(22), time(6))),
        (" 20:30-07:15 weekdays ", NightWindow(time(20, 30), time(7, 15), weekdays_only=True)),
    ],
)
def test_a_well_formed_tag_is_read_as_its_window(value: str, expected: NightWindow) -> None:
    assert parse_window(value) == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("true", "is not HH:MM-HH:MM"),
        ("22-06", "is not HH:MM-HH:MM"),
        ("25:00-06:00", "25:00 is not a time of day"),
        ("22:00-22:00", "park and restore are at the same time"),
        ("22:00-06:00 weekends", "is not HH:MM-HH:MM"),
    ],
)
def test_a_malformed_tag_says_exactly_what_is_wrong_and_blocks(value: str, says: str) -> None:
    # GIVEN a tag value that cannot be read WHEN judged THEN nothing is proposed, and the reason names it
    verdict = night_verdict({PARK_AT_NIGHT_TAG: value}, day_traffic(), "UTC")
    assert verdict is not None and not verdict.proposed and verdict.blocked
    assert says in verdict.reason and repr(value) in verdict.reason


def test_no_tag_no_verdict() -> None:
    assert night_verdict({}, day_traffic(), "UTC") is None


def test_quiet_nights_propose_parking_with_the_share_of_the_week() -> None:
    verdict = night_verdict({PARK_AT_NIGHT_TAG: "22:00-06:00"}, day_traffic(), "UTC")
    assert verdict is not None and verdict.proposed, verdict
    assert verdict.parked_share == pytest.approx(8 / 24)
    assert "no invocation in the parked hours of" in verdict.reason


def test_traffic_at_two_on_three_nights_is_not_proposed_and_says_when() -> None:
    # GIVEN invocations at 02:00 UTC on three nights
    extra = {24 * day + 2: 3.0 for day in (3, 5, 9)}
    # WHEN judged THEN not proposed (not blocked: the owner's tag is fine), with the hour and the nights
    verdict = night_verdict({PARK_AT_NIGHT_TAG: "22:00-06:00"}, day_traffic(extra), "UTC")
    assert verdict is not None and not verdict.proposed and not verdict.blocked
    assert "traffic at 02:00 on 3 of" in verdict.reason


def test_the_nights_are_judged_in_the_endpoints_time_zone() -> None:
    # GIVEN traffic 09-17 UTC, i.e. from 04:00 in New York (UTC-5 in November)
    tags = {PARK_AT_NIGHT_TAG: "22:00-06:00"}
    # THEN 22:00-06:00 is quiet in UTC, but not in New York, where the traffic starts at 04:00
    in_utc = night_verdict(tags, day_traffic(), "UTC")
    in_new_york = night_verdict(tags, day_traffic(), "America/New_York")
    assert in_utc is not None and in_utc.proposed
    assert in_new_york is not None and not in_new_york.proposed
    assert "traffic at 04:00, 05:00 on" in in_new_york.reason


def test_weekdays_keeps_it_parked_from_friday_night_to_monday_morning() -> None:
    window = NightWindow(time(22), time(6), weekdays_only=True)
    assert window.parked_at(datetime(2026, 11, 28, 14, 0))  # Saturday afternoon
    assert not window.parked_at(datetime(2026, 11, 30, 7, 0))  # Monday 07:00
    assert window.cron(window.park) == "cron(0 22 ? * MON-FRI *)"
