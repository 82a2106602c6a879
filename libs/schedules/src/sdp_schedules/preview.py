"""A schedule's timing previewed: the trigger in words and its next fires in its own zone.

The words are written here only (the web console words a trigger for itself as it is typed);
the fires are the timetable's (sdp_schedules.timing), so a preview and beat never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from sdp_schedules.model import HORIZON, CrontabTrigger, IntervalTrigger, Timing, Trigger
from sdp_schedules.timing import from_ms, slots_until, timetable, to_ms

__all__ = ["describe", "next_fires", "zone_of"]

_HORIZON_MS = to_ms(HORIZON)
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Up to this many hours, a single minute is worded as each time of day ("at 08:00, 12:00").
_TIMES_LISTED = 6


def zone_of(trigger: Trigger) -> tzinfo:
    """The zone a trigger's times are read in: a crontab's own, else UTC."""
    return ZoneInfo(trigger.timezone) if isinstance(trigger, CrontabTrigger) else UTC


def next_fires(timing: Timing, now_ms: int, count: int) -> list[datetime]:
    """The first ``count`` fires after ``now_ms`` of a schedule created now, in its zone."""
    table = timetable(timing, now_ms)
    first = table.next_after(now_ms)
    if first is None:
        return []
    zone = zone_of(timing.trigger)
    return [
        from_ms(slot).astimezone(zone) for slot in slots_until(table, first, _HORIZON_MS, count)
    ]


def describe(timing: Timing) -> str:
    """The timing in words, e.g. "at 02:30 every day (Europe/Berlin)"."""
    trigger = timing.trigger
    if isinstance(trigger, IntervalTrigger):
        unit = trigger.unit.removesuffix("s")
        words = f"every {unit}" if trigger.every == 1 else f"every {trigger.every:,} {unit}s"
    elif isinstance(trigger, CrontabTrigger):
        times, days = _cron_times(trigger), _cron_days(trigger)
        if days == "every day" and times.startswith("every"):
            days = ""  # "every minute" says it already
        words = " ".join(filter(None, (times, days, f"({trigger.timezone})")))
    else:
        words = f"once at {trigger.at.isoformat()}"
    if timing.start_at is not None:
        words += f", from {timing.start_at.isoformat()}"
    if timing.end_at is not None:
        words += f", until {timing.end_at.isoformat()}"
    return words


def _cron_times(trigger: CrontabTrigger) -> str:
    minutes, hours = sorted(trigger.values("minute")), sorted(trigger.values("hour"))
    if len(hours) == 24:
        if len(minutes) == 60:
            return "every minute"
        step = minutes[1] - minutes[0] if len(minutes) > 1 else 0
        if minutes[0] == 0 and step and 60 % step == 0 and minutes == list(range(0, 60, step)):
            return f"every {step} minutes"
        return f"at {_minutes(minutes)} of every hour"
    if len(minutes) == 1 and len(hours) <= _TIMES_LISTED:
        return "at " + _listed([f"{hour:02d}:{minutes[0]:02d}" for hour in hours])
    return f"at {_minutes(minutes)} of {_plural('hour', hours)} {_ranges(hours)}"


def _minutes(minutes: Sequence[int]) -> str:
    if len(minutes) == 60:
        return "every minute"
    return f"{_plural('minute', minutes)} {_ranges(minutes)}"


def _plural(word: str, values: Sequence[int]) -> str:
    return word if len(values) == 1 else f"{word}s"


def _cron_days(trigger: CrontabTrigger) -> str:
    doms, dows = trigger.values("day_of_month"), trigger.values("day_of_week")
    months = trigger.values("month_of_year")
    parts = []
    if len(doms) < 31:
        parts.append(f"on {_plural('day', sorted(doms))} {_ranges(sorted(doms))} of the month")
    if len(dows) < 7:
        days = f"on {_ranges(sorted(dows), _DAYS)}"
        if not parts:
            parts.append(days)
        else:
            parts.append(f"or {days}" if trigger.either_day else f"if that is {days[3:]}")
    words = " ".join(parts) or "every day"
    if len(months) < 12:
        words += f" in {_ranges(sorted(months), _MONTHS, first=1)}"
    return words


def _ranges(values: Sequence[int], names: Sequence[str] = (), *, first: int = 0) -> str:
    """Sorted values with runs of three or more joined: "1-5, 10", "Monday to Friday"."""
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])

    def name(value: int) -> str:
        return names[value - first] if names else str(value)

    words = []
    for run in runs:
        if len(run) >= 3:
            words.append(f"{name(run[0])} to {name(run[-1])}" if names else f"{run[0]}-{run[-1]}")
        else:
            words.extend(name(value) for value in run)
    return _listed(words)


def _listed(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
