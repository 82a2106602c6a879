"""A timing previewed: its words, and its next fires in its own zone, DST-exact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from sdp_schedules.model import Timing
from sdp_schedules.preview import describe, next_fires
from sdp_schedules.timing import to_ms


def timing(trigger: dict[str, Any], **window: str) -> Timing:
    return Timing.model_validate({"trigger": trigger, **window})


def at(text: str) -> int:
    return to_ms(datetime.fromisoformat(text))


def fires(trigger: dict[str, Any], now: str, count: int = 5, **window: str) -> list[str]:
    return [f.isoformat() for f in next_fires(timing(trigger, **window), at(now), count)]


BERLIN_0230 = {"type": "crontab", "minute": "30", "hour": "2", "timezone": "Europe/Berlin"}


def test_berlin_across_the_spring_gap_fires_when_the_gap_ends() -> None:
    # 2026-03-29 has no 02:30 in Berlin: clocks jump from 02:00 CET to 03:00 CEST.
    assert fires(BERLIN_0230, "2026-03-27T12:00:00+00:00", 4) == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]


def test_berlin_across_the_autumn_fold_fires_once_at_the_first_pass() -> None:
    # 2026-10-25 has 02:30 twice in Berlin, CEST then CET.
    assert fires(BERLIN_0230, "2026-10-23T12:00:00+00:00", 4) == [
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]


def test_new_york_fires_carry_their_offset_each_side_of_the_change() -> None:
    trigger = {"type": "crontab", "minute": "0", "hour": "9", "timezone": "America/New_York"}
    assert fires(trigger, "2026-03-06T20:00:00+00:00", 3) == [
        "2026-03-07T09:00:00-05:00",
        "2026-03-08T09:00:00-04:00",
        "2026-03-09T09:00:00-04:00",
    ]


def test_real_hours_fire_in_both_passes_of_the_repeated_hour() -> None:
    trigger = {"type": "crontab", "minute": "30", "timezone": "America/New_York"}
    assert fires(trigger, "2026-11-01T04:45:00+00:00", 3) == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:30:00-05:00",
    ]


def test_interval_fires_in_utc_one_period_after_now() -> None:
    assert fires({"type": "interval", "every": 30}, "2026-01-01T10:00:00+00:00", 3) == [
        "2026-01-01T10:00:30+00:00",
        "2026-01-01T10:01:00+00:00",
        "2026-01-01T10:01:30+00:00",
    ]


def test_interval_fires_from_start_at_and_stop_at_end_at() -> None:
    got = fires(
        {"type": "interval", "every": 1, "unit": "hours"},
        "2026-01-01T10:00:00+00:00",
        count=10,
        start_at="2026-01-02T00:00:00+01:00",
        end_at="2026-01-02T02:00:00+00:00",
    )
    assert got == [
        "2026-01-01T23:00:00+00:00",
        "2026-01-02T00:00:00+00:00",
        "2026-01-02T01:00:00+00:00",
        "2026-01-02T02:00:00+00:00",
    ]


def test_once_fires_once_in_utc_or_not_at_all_once_past() -> None:
    once = {"type": "once", "at": "2026-06-01T12:00:00+02:00"}
    assert fires(once, "2026-05-01T00:00:00+00:00") == ["2026-06-01T10:00:00+00:00"]
    assert fires(once, "2026-06-01T10:00:00+00:00") == []


def test_count_caps_the_fires() -> None:
    assert len(fires({"type": "crontab"}, "2026-01-01T00:00:00+00:00", 50)) == 50
    assert len(fires({"type": "crontab"}, "2026-01-01T00:00:00+00:00", 1)) == 1


@pytest.mark.parametrize(
    ("trigger", "words"),
    [
        ({"type": "interval", "every": 30}, "every 30 seconds"),
        ({"type": "interval", "every": 1, "unit": "hours"}, "every hour"),
        ({"type": "interval", "every": 1_440, "unit": "minutes"}, "every 1,440 minutes"),
        (BERLIN_0230, "at 02:30 every day (Europe/Berlin)"),
        ({"type": "crontab"}, "every minute (UTC)"),
        ({"type": "crontab", "minute": "*/15"}, "every 15 minutes (UTC)"),
        ({"type": "crontab", "minute": "5"}, "at minute 5 of every hour every day (UTC)"),
        (
            {"type": "crontab", "minute": "0", "hour": "9", "day_of_week": "mon-fri"},
            "at 09:00 on Monday to Friday (UTC)",
        ),
        (
            {"type": "crontab", "minute": "0,30", "hour": "8-18", "month_of_year": "jan,jul"},
            "at minutes 0 and 30 of hours 8-18 every day in January and July (UTC)",
        ),
        (
            {
                "type": "crontab",
                "minute": "0",
                "hour": "0",
                "day_of_month": "13",
                "day_of_week": "5",
            },
            "at 00:00 on day 13 of the month or on Friday (UTC)",
        ),
        ({"type": "once", "at": "2026-06-01T12:00:00+02:00"}, "once at 2026-06-01T12:00:00+02:00"),
    ],
)
def test_words(trigger: dict[str, Any], words: str) -> None:
    assert describe(timing(trigger)) == words


def test_words_name_the_window() -> None:
    window = {"start_at": "2026-01-01T00:00:00+00:00", "end_at": "2026-02-01T00:00:00+00:00"}
    assert describe(timing({"type": "interval", "every": 5}, **window)) == (
        "every 5 seconds, from 2026-01-01T00:00:00+00:00, until 2026-02-01T00:00:00+00:00"
    )
