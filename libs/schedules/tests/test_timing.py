from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sdp_schedules.model import HORIZON, STORED, CrontabTrigger, ScheduleSpec
from sdp_schedules.timing import (
    Timetable,
    from_ms,
    slots_until,
    timetable,
    to_ms,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE_MS = 60_000
HOUR_MS = 3_600_000

# The 2026 transitions: spring days lose the hour from 02:00, autumn days repeat one.
SPRING = [("Europe/Berlin", date(2026, 3, 29)), ("America/New_York", date(2026, 3, 8))]
AUTUMN = [("Europe/Berlin", date(2026, 10, 25)), ("America/New_York", date(2026, 11, 1))]


def ms(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 time with an offset."""
    return (datetime.fromisoformat(text) - EPOCH) // timedelta(milliseconds=1)


def spec(trigger: dict[str, Any], **changes: Any) -> ScheduleSpec:
    return ScheduleSpec.model_validate(
        {"name": "timing", "task": "system.noop", "trigger": trigger, **changes}
    )


def local(zone: str, day: date, clock: time = time()) -> int:
    """Epoch milliseconds of a local wall time (its first occurrence if repeated)."""
    return (datetime.combine(day, clock, ZoneInfo(zone)) - EPOCH) // timedelta(milliseconds=1)


def crontab(**fields: str) -> Timetable:
    return timetable(spec({"type": "crontab", **fields}), created_ms=0)


def local_day(table: Timetable, zone: str, day: date) -> list[int]:
    """Every slot whose instant falls on one local calendar day."""
    first = table.next_after(local(zone, day) - 1)
    assert first is not None
    return slots_until(table, first, local(zone, day + timedelta(days=1)) - 1, limit=10_000)


# --- interval ---------------------------------------------------------------------------


def test_interval_first_runs_one_period_after_creation() -> None:
    created = ms("2026-01-01T10:00:00.250+00:00")
    table = timetable(spec({"type": "interval", "every": 30}), created)
    assert table.next_after(created) == created + 30_000
    assert table.next_after(0) == created + 30_000


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2026-01-01T08:00:00+00:00", "2026-01-01T09:00:00+00:00"),
        ("2026-01-01T09:00:00+00:00", "2026-01-01T09:15:00+00:00"),
        ("2026-01-01T09:14:59.999+00:00", "2026-01-01T09:15:00+00:00"),
        ("2026-01-01T09:15:00+00:00", "2026-01-01T09:30:00+00:00"),
        ("2027-06-05T04:03:02+00:00", "2027-06-05T04:15:00+00:00"),
    ],
)
def test_interval_slots_count_from_start_at(after: str, expected: str) -> None:
    table = timetable(
        spec({"type": "interval", "every": 15, "unit": "minutes"}, start_at="2026-01-01T09:00Z"),
        created_ms=ms("2026-01-01T00:00:00+00:00"),
    )
    assert table.next_after(ms(after)) == ms(expected)


def test_interval_does_not_drift() -> None:
    period = 7_000
    table = timetable(spec({"type": "interval", "every": 7}), created_ms=123)
    first = table.next_after(0)
    assert first == 123 + period
    slots = slots_until(table, first, first + 10_000 * period, limit=20_000)
    assert len(slots) == 10_001
    assert {b - a for a, b in pairwise(slots)} == {period}
    assert table.next_after(first + 10_000 * period - 1) == first + 10_000 * period


# --- once -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2026-01-01T00:00:00+00:00", "2026-05-01T12:00:00+00:00"),
        ("2026-05-01T11:59:59.999+00:00", "2026-05-01T12:00:00+00:00"),
        ("2026-05-01T12:00:00+00:00", None),
        ("2027-01-01T00:00:00+00:00", None),
    ],
)
def test_once_has_one_slot(after: str, expected: str | None) -> None:
    table = timetable(spec({"type": "once", "at": "2026-05-01T14:00:00+02:00"}), created_ms=0)
    assert table.next_after(ms(after)) == (None if expected is None else ms(expected))


@pytest.mark.parametrize(
    "window",
    [{"start_at": "2026-05-02T00:00:00Z"}, {"end_at": "2026-05-01T11:00:00Z"}],
)
def test_once_outside_its_window_never_runs(window: dict[str, str]) -> None:
    table = timetable(spec({"type": "once", "at": "2026-05-01T12:00:00Z"}, **window), 0)
    assert table.next_after(0) is None


# --- crontab ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "after", "expected"),
    [
        ({"minute": "*/15"}, "2026-01-05T10:07:00+00:00", "2026-01-05T10:15:00+00:00"),
        ({"minute": "*/15"}, "2026-01-05T10:15:00+00:00", "2026-01-05T10:30:00+00:00"),
        ({"minute": "*/15"}, "2026-01-05T10:59:30+00:00", "2026-01-05T11:00:00+00:00"),
        ({}, "2026-01-05T10:07:59.999+00:00", "2026-01-05T10:08:00+00:00"),
        ({"minute": "0", "hour": "9-17"}, "2026-01-05T17:30:00+00:00", "2026-01-06T09:00:00+00:00"),
        # 2026-01-09 is a Friday.
        (
            {"minute": "0", "hour": "9", "day_of_week": "mon-fri"},
            "2026-01-09T10:00:00+00:00",
            "2026-01-12T09:00:00+00:00",
        ),
        # Both day fields restricted: either may match (Friday 2 January comes first).
        (
            {"minute": "0", "hour": "0", "day_of_month": "13", "day_of_week": "fri"},
            "2026-01-01T00:00:00+00:00",
            "2026-01-02T00:00:00+00:00",
        ),
        (
            {"minute": "0", "hour": "0", "day_of_month": "13", "day_of_week": "fri"},
            "2026-01-12T00:00:00+00:00",
            "2026-01-13T00:00:00+00:00",
        ),
        (
            {"minute": "0", "hour": "0", "day_of_month": "13"},
            "2026-01-01T00:00:00+00:00",
            "2026-01-13T00:00:00+00:00",
        ),
        # "*/10" counts as unrestricted, so both fields must match: the 11th that is a Monday.
        (
            {"minute": "0", "hour": "0", "day_of_month": "*/10", "day_of_week": "mon"},
            "2026-01-01T00:00:00+00:00",
            "2026-05-11T00:00:00+00:00",
        ),
        (
            {"minute": "0", "hour": "0", "day_of_month": "1", "month_of_year": "jun,dec"},
            "2026-06-01T00:00:00+00:00",
            "2026-12-01T00:00:00+00:00",
        ),
        (
            {"minute": "59", "hour": "23", "day_of_month": "31", "month_of_year": "12"},
            "2026-12-31T23:59:00+00:00",
            "2027-12-31T23:59:00+00:00",
        ),
        (
            {"minute": "0", "hour": "12", "day_of_month": "29", "month_of_year": "feb"},
            "2026-01-01T00:00:00+00:00",
            "2028-02-29T12:00:00+00:00",
        ),
        # 2100 is no leap year.
        (
            {"minute": "0", "hour": "12", "day_of_month": "29", "month_of_year": "feb"},
            "2096-03-01T00:00:00+00:00",
            "2104-02-29T12:00:00+00:00",
        ),
        (
            {"minute": "30", "hour": "8", "timezone": "Asia/Kolkata"},
            "2026-01-05T00:00:00+00:00",
            "2026-01-05T03:00:00+00:00",
        ),
    ],
)
def test_crontab_next_slot(fields: dict[str, str], after: str, expected: str) -> None:
    assert crontab(**fields).next_after(ms(after)) == ms(expected)


@pytest.mark.parametrize(
    "fields",
    [
        {"day_of_month": "30", "month_of_year": "2"},
        {"day_of_month": "31", "month_of_year": "apr,jun,sep,nov"},
    ],
)
def test_a_never_firing_crontab_has_no_slot(fields: dict[str, str]) -> None:
    assert crontab(minute="0", hour="0", **fields).next_after(0) is None
    assert not CrontabTrigger.model_validate({"type": "crontab", **fields}).ever_fires()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"day_of_month": "29", "month_of_year": "2"},
        {"day_of_month": "31", "month_of_year": "2,3"},
        {"day_of_month": "30", "month_of_year": "2", "day_of_week": "mon"},
    ],
)
def test_crontab_ever_fires(fields: dict[str, str]) -> None:
    assert CrontabTrigger.model_validate({"type": "crontab", **fields}).ever_fires()


# --- daylight saving --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "hour", "expected"),
    [
        # Skipped wall times run when the gap ends, at 03:00 local.
        ("Europe/Berlin", date(2026, 3, 29), "2", "2026-03-29T01:00:00+00:00"),
        ("America/New_York", date(2026, 3, 8), "2", "2026-03-08T07:00:00+00:00"),
        # Repeated wall times run at their first occurrence, still on summer time.
        ("Europe/Berlin", date(2026, 10, 25), "2", "2026-10-25T00:30:00+00:00"),
        ("America/New_York", date(2026, 11, 1), "1", "2026-11-01T05:30:00+00:00"),
        ("America/New_York", date(2026, 11, 1), "2", "2026-11-01T07:30:00+00:00"),
    ],
)
def test_a_daily_run_in_a_transition_hour_runs_once(
    zone: str, day: date, hour: str, expected: str
) -> None:
    table = crontab(minute="30", hour=hour, timezone=zone)
    assert local_day(table, zone, day) == [ms(expected)]


@pytest.mark.parametrize(("zone", "day"), SPRING + AUTUMN)
def test_a_daily_run_keeps_its_local_time(zone: str, day: date) -> None:
    table = crontab(minute="0", hour="9", timezone=zone)
    assert local_day(table, zone, day) == [local(zone, day, time(9))]


@pytest.mark.parametrize(
    ("zone", "day", "runs"), [(z, d, 23) for z, d in SPRING] + [(z, d, 25) for z, d in AUTUMN]
)
def test_an_hourly_run_follows_real_hours(zone: str, day: date, runs: int) -> None:
    slots = local_day(crontab(minute="30", timezone=zone), zone, day)
    assert len(slots) == runs
    assert {b - a for a, b in pairwise(slots)} == {HOUR_MS}


@pytest.mark.parametrize(
    ("zone", "day", "runs"),
    [(z, d, 23 * 60) for z, d in SPRING] + [(z, d, 25 * 60) for z, d in AUTUMN],
)
def test_an_every_minute_run_follows_real_minutes(zone: str, day: date, runs: int) -> None:
    slots = local_day(crontab(timezone=zone), zone, day)
    assert len(slots) == runs
    assert {b - a for a, b in pairwise(slots)} == {MINUTE_MS}


@pytest.mark.parametrize(
    ("zone", "day", "repeated"),
    [("Europe/Berlin", date(2026, 10, 25), 2), ("America/New_York", date(2026, 11, 1), 1)],
)
def test_the_repeated_hour_runs_twice(zone: str, day: date, repeated: int) -> None:
    table = crontab(minute="30", timezone=zone)
    first_pass = local(zone, day, time(repeated))
    # Seen from any minute of the first pass, the next run is in the first or second pass.
    for minute in range(60):
        after = first_pass + minute * MINUTE_MS
        expected = first_pass + (30 if minute < 30 else 90) * MINUTE_MS
        assert table.next_after(after) == expected
    assert table.next_after(first_pass + 90 * MINUTE_MS) == first_pass + 150 * MINUTE_MS


@pytest.mark.parametrize(("zone", "day"), SPRING)
def test_wall_times_in_a_gap_collapse_into_one_run(zone: str, day: date) -> None:
    table = crontab(minute="*/15", hour="2", timezone=zone)
    assert local_day(table, zone, day) == [local(zone, day, time(3))]


# --- windows and limits -----------------------------------------------------------------


def test_end_at_stops_the_slots() -> None:
    table = timetable(
        spec({"type": "interval", "every": 1, "unit": "hours"}, end_at="2026-01-01T05:00:00Z"),
        created_ms=ms("2026-01-01T00:00:00+00:00"),
    )
    first = table.next_after(0)
    assert first == ms("2026-01-01T01:00:00+00:00")
    assert len(slots_until(table, first, ms("2027-01-01T00:00:00+00:00"), limit=100)) == 5
    assert table.next_after(ms("2026-01-01T05:00:00+00:00")) is None


def test_end_at_stops_a_crontab() -> None:
    table = timetable(
        spec({"type": "crontab", "minute": "0", "hour": "9"}, end_at="2026-01-03T09:00:00Z"),
        created_ms=0,
    )
    assert table.next_after(ms("2026-01-02T09:00:00+00:00")) == ms("2026-01-03T09:00:00+00:00")
    assert table.next_after(ms("2026-01-03T09:00:00+00:00")) is None


def test_start_at_delays_a_crontab() -> None:
    table = timetable(
        spec({"type": "crontab", "minute": "0"}, start_at="2026-01-01T10:00:00Z"),
        created_ms=ms("2025-12-01T00:00:00+00:00"),
    )
    assert table.next_after(ms("2025-12-01T00:00:00+00:00")) == ms("2026-01-01T10:00:00+00:00")
    assert table.next_after(ms("2026-01-01T10:00:00+00:00")) == ms("2026-01-01T11:00:00+00:00")


# --- the horizon ------------------------------------------------------------------------

LAST_HOUR = "2999-12-31T23:00:00+00:00"


@pytest.mark.parametrize(
    "trigger",
    [
        {"type": "crontab", "minute": "30"},
        {"type": "crontab", "minute": "30", "timezone": "Pacific/Kiritimati"},
        {"type": "interval", "every": 366, "unit": "days"},
    ],
)
def test_the_last_slot_before_the_horizon_ends_the_schedule(trigger: dict[str, Any]) -> None:
    table = timetable(spec(trigger, start_at="2999-12-31T23:30:00Z"), created_ms=0)
    last = table.next_after(ms(LAST_HOUR))
    assert last == ms("2999-12-31T23:30:00+00:00")
    assert table.next_after(last) is None


def test_a_crontab_whose_next_day_lies_past_the_horizon_has_none() -> None:
    # 3000 is no leap year, so after 2996 the next 29 February is in 3004.
    table = crontab(minute="0", hour="0", day_of_month="29", month_of_year="2")
    assert table.next_after(ms("2996-03-01T00:00:00+00:00")) is None


def test_a_once_at_the_last_moment_runs() -> None:
    at = to_ms(HORIZON) - 1
    table = timetable(spec({"type": "once", "at": from_ms(at).isoformat()}), created_ms=0)
    assert table.next_after(at - 1) == at


@pytest.mark.parametrize(
    ("trigger", "changes"),
    [
        ({"type": "crontab", "minute": "0"}, {"start_at": "9999-12-31T00:00:00Z"}),
        ({"type": "crontab", "minute": "0"}, {"start_at": "9999-12-31T23:59:59.999999-14:00"}),
        ({"type": "interval", "every": 1}, {"start_at": "9999-12-31T23:59:59Z"}),
        ({"type": "interval", "every": 1_000_000, "unit": "days"}, {}),
        ({"type": "once", "at": "9999-12-31T23:59:59Z"}, {}),
        ({"type": "crontab", "minute": "0"}, {"start_at": "0001-01-01T00:00:00Z"}),
    ],
)
def test_dates_stored_before_the_bounds_compute_without_overflow(
    trigger: dict[str, Any], changes: dict[str, Any]
) -> None:
    stored = ScheduleSpec.model_validate(
        {"name": "far", "task": "system.noop", "trigger": trigger, **changes}, context=STORED
    )
    table = timetable(stored, created_ms=ms("2026-01-01T00:00:00+00:00"))
    for after in (
        0,
        ms("2026-06-01T00:00:00+00:00"),
        ms(LAST_HOUR),
        to_ms(datetime.max.replace(tzinfo=UTC)),
    ):
        slot = table.next_after(after)
        assert slot is None or slot < to_ms(HORIZON)
        if slot is not None:
            from_ms(slot)


@pytest.mark.parametrize(
    ("until", "limit", "count"),
    [
        ("2026-01-01T00:59:00+00:00", 100, 60),
        ("2026-01-01T00:59:00+00:00", 3, 3),
        ("2026-01-01T00:00:00+00:00", 100, 1),
        ("2025-12-31T23:59:00+00:00", 100, 0),
        ("2026-01-01T00:59:00+00:00", 0, 0),
    ],
)
def test_slots_until_respects_until_and_limit(until: str, limit: int, count: int) -> None:
    first = ms("2026-01-01T00:00:00+00:00")
    slots = slots_until(crontab(), first, ms(until), limit)
    assert slots == [first + i * MINUTE_MS for i in range(count)]
