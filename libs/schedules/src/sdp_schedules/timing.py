"""When a schedule falls due: its slots as integer epoch milliseconds (UTC).

Crontabs are read in their own IANA timezone. A wall time skipped by a spring-forward gap
fires once, when the gap ends; a wall time repeated by a fall-back fires at its first
occurrence only, unless the hour field is ``*``: such a schedule follows real hours, so it
fires in both passes of the repeated hour and not at all in the skipped one.

Slots lie in [EARLIEST, HORIZON): a schedule whose next slot would come at or after HORIZON
has none, so no entry, however far out its dates (one stored before they were bounded), makes
a slot computation overflow a datetime.
"""

from __future__ import annotations

from bisect import bisect_left
from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sdp_schedules.model import (
    EARLIEST,
    HORIZON,
    CrontabTrigger,
    IntervalTrigger,
    ScheduleSpec,
    Timing,
)

__all__ = ["Timetable", "from_ms", "slots_until", "timetable", "to_ms"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# Eight years spans the longest wait for a Feb 29, across a skipped century leap year.
_HORIZON_MONTHS = 8 * 12


class Timetable(Protocol):
    """The slots of one schedule."""

    def next_after(self, t_ms: int) -> int | None:
        """The first slot strictly after ``t_ms``, or None when no slot follows."""
        ...


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, exactly (no float rounding)."""
    return (moment - _EPOCH) // _MS


def from_ms(t_ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds."""
    return _EPOCH + t_ms * _MS


_EARLIEST_MS = to_ms(EARLIEST)
_HORIZON_MS = to_ms(HORIZON)


def _offset(moment: datetime) -> timedelta:
    offset = moment.utcoffset()
    assert offset is not None  # every datetime here carries a ZoneInfo or UTC
    return offset


@dataclass(frozen=True, slots=True)
class _Interval:
    """Fixed-rate slots ``origin + k * period``, so they never drift."""

    origin_ms: int
    period_ms: int

    def next_after(self, t_ms: int) -> int | None:
        if t_ms < self.origin_ms:
            return self.origin_ms
        return self.origin_ms + ((t_ms - self.origin_ms) // self.period_ms + 1) * self.period_ms


@dataclass(frozen=True, slots=True)
class _Once:
    at_ms: int

    def next_after(self, t_ms: int) -> int | None:
        return self.at_ms if self.at_ms > t_ms else None


class _Crontab:
    """Crontab slots, found by walking matching wall times forward from the one at ``t``."""

    __slots__ = (
        "_doms",
        "_dows",
        "_either_day",
        "_hours",
        "_minutes",
        "_months",
        "_real_hours",
        "_zone",
    )

    def __init__(self, trigger: CrontabTrigger) -> None:
        self._zone = ZoneInfo(trigger.timezone)
        self._minutes = sorted(trigger.values("minute"))
        self._hours = sorted(trigger.values("hour"))
        self._doms = trigger.values("day_of_month")
        self._months = trigger.values("month_of_year")
        self._dows = trigger.values("day_of_week")
        self._either_day = trigger.either_day
        self._real_hours = trigger.hour == "*"

    def next_after(self, t_ms: int) -> int | None:
        now = from_ms(t_ms).astimezone(self._zone)
        start = now.replace(tzinfo=None, second=0, microsecond=0)
        if self._real_hours:
            # In the first pass of a repeated hour, its second pass (slots after t) also
            # holds wall times earlier than t's: start the walk where that hour starts.
            start -= _offset(now) - _offset(now.replace(fold=1))
        repeat_slot: int | None = None
        for wall in self._walls(start):
            first, repeat = self._instants(wall)
            if repeat_slot is None and repeat is not None and repeat > t_ms:
                repeat_slot = repeat
            if first is not None and first > t_ms:
                # First occurrences rise with wall time, so nothing later can come sooner.
                return first if repeat_slot is None else min(first, repeat_slot)
        return repeat_slot

    def _instants(self, wall: datetime) -> tuple[int | None, int | None]:
        """A wall time's first occurrence (or gap end) and, for real hours, its repeat."""
        early = wall.replace(tzinfo=self._zone)
        late = wall.replace(tzinfo=self._zone, fold=1)
        early_offset, late_offset = _offset(early), _offset(late)
        if early_offset < late_offset:
            # Skipped by a gap: fold=0 reads it with the offset from before the gap.
            if self._real_hours:
                return None, None
            return self._gap_end(to_ms(late), to_ms(early), early_offset), None
        if early_offset > late_offset and self._real_hours:
            return to_ms(early), to_ms(late)
        return to_ms(early), None

    def _gap_end(self, before_ms: int, after_ms: int, old_offset: timedelta) -> int:
        """The instant between two bounds where a gap ends, bisected to the second."""
        low, high = before_ms // 1000, after_ms // 1000
        while high - low > 1:
            middle = (low + high) // 2
            if _offset(datetime.fromtimestamp(middle, self._zone)) == old_offset:
                low = middle
            else:
                high = middle
        return high * 1000

    def _walls(self, start: datetime) -> Iterator[datetime]:
        """Matching wall times from ``start`` on, skipping unmatched days wholesale."""
        for day in self._days(start.date()):
            first_day = day == start.date()
            for hour in self._hours[bisect_left(self._hours, start.hour) if first_day else 0 :]:
                from_minute = start.minute if first_day and hour == start.hour else 0
                for minute in self._minutes[bisect_left(self._minutes, from_minute) :]:
                    yield datetime.combine(day, time(hour, minute))

    def _days(self, first: date) -> Iterator[date]:
        """Matching dates from ``first`` on, within the horizon, skipping unmatched months."""
        year, month, from_day = first.year, first.month, first.day
        for _ in range(_HORIZON_MONTHS):
            if month in self._months:
                for number in range(from_day, monthrange(year, month)[1] + 1):
                    day = date(year, month, number)
                    if self._day_matches(day):
                        yield day
            year, month, from_day = (year + 1, 1, 1) if month == 12 else (year, month + 1, 1)

    def _day_matches(self, day: date) -> bool:
        dom = day.day in self._doms
        dow = day.isoweekday() % 7 in self._dows
        return (dom or dow) if self._either_day else (dom and dow)


@dataclass(frozen=True, slots=True)
class _Window:
    """Another timetable cut to ``[start_ms, end_ms]`` and to ``[EARLIEST, HORIZON)``."""

    inner: Timetable
    start_ms: int | None
    end_ms: int | None

    def next_after(self, t_ms: int) -> int | None:
        first = _EARLIEST_MS if self.start_ms is None else max(_EARLIEST_MS, self.start_ms)
        t_ms = max(t_ms, first - 1)
        if t_ms >= _HORIZON_MS - 1:
            return None  # the inner timetables are only ever asked about times before HORIZON
        slot = self.inner.next_after(t_ms)
        if slot is None or slot >= _HORIZON_MS or (self.end_ms is not None and slot > self.end_ms):
            return None
        return slot


def timetable(spec: ScheduleSpec | Timing, created_ms: int) -> Timetable:
    """The slots of a schedule (or of a timing alone), honouring start_at and end_at."""
    start_ms = None if spec.start_at is None else to_ms(spec.start_at)
    end_ms = None if spec.end_at is None else to_ms(spec.end_at)
    trigger = spec.trigger
    inner: Timetable
    if isinstance(trigger, IntervalTrigger):
        period_ms = trigger.period // _MS
        origin_ms = created_ms + period_ms if start_ms is None else start_ms
        inner = _Interval(origin_ms, period_ms)
    elif isinstance(trigger, CrontabTrigger):
        inner = _Crontab(trigger)
    else:
        inner = _Once(to_ms(trigger.at))
    return _Window(inner, start_ms, end_ms)


def slots_until(table: Timetable, first_ms: int, until_ms: int, limit: int) -> list[int]:
    """first_ms (itself a slot) and the slots after it up to and including until_ms.

    Returns at most ``limit`` slots.
    """
    slots: list[int] = []
    slot: int | None = first_ms
    while slot is not None and slot <= until_ms and len(slots) < limit:
        slots.append(slot)
        slot = table.next_after(slot)
    return slots
