from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from sdp_schedules.cron import DAY_OF_WEEK, HOUR, MINUTE, MONTH_OF_YEAR, CronFieldError, parse_field
from sdp_schedules.model import CrontabTrigger, IntervalTrigger, ScheduleSpec

BASE: dict[str, Any] = {
    "name": "collect-orders",
    "task": "collect.http",
    "kwargs": {"url": "https://example.org/orders.json"},
    "trigger": {"type": "interval", "every": 30, "unit": "seconds"},
}


def spec(**changes: Any) -> ScheduleSpec:
    return ScheduleSpec.model_validate({**BASE, **changes})


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


@pytest.mark.parametrize(
    ("expression", "field", "values"),
    [
        ("*/15", MINUTE, {0, 15, 30, 45}),
        ("5/20", MINUTE, {5, 25, 45}),
        ("1-3,10", HOUR, {1, 2, 3, 10}),
        ("mon-fri", DAY_OF_WEEK, {1, 2, 3, 4, 5}),
        ("7", DAY_OF_WEEK, {0}),
        ("jan,dec", MONTH_OF_YEAR, {1, 12}),
        ("*/6", HOUR, {0, 6, 12, 18}),
    ],
)
def test_cron_fields_parse(expression: str, field: Any, values: set[int]) -> None:
    assert parse_field(expression, field) == values


@pytest.mark.parametrize(
    ("expression", "field"),
    [("60", MINUTE), ("5-1", HOUR), ("*/0", MINUTE), ("", HOUR), ("x", HOUR), ("1,,2", MINUTE)],
)
def test_bad_cron_fields_are_refused(expression: str, field: Any) -> None:
    with pytest.raises(CronFieldError):
        parse_field(expression, field)


def test_the_spec_example_validates() -> None:
    schedule = spec(
        trigger={"type": "crontab", "minute": "0", "hour": "*/2", "timezone": "Europe/Berlin"},
        misfire={"policy": "run_all", "grace_s": 120},
    )
    assert isinstance(schedule.trigger, CrontabTrigger)
    assert schedule.trigger.values("hour") == frozenset(range(0, 24, 2))
    assert schedule.misfire.policy == "run_all"
    assert spec().misfire.policy == "run_once"
    interval = spec(trigger={"type": "interval", "every": 2, "unit": "hours"}).trigger
    assert isinstance(interval, IntervalTrigger)
    assert interval.period == timedelta(hours=2)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"task": "billing.charge"}, "task"),
        ({"trigger": {"type": "crontab", "minute": "61"}}, "trigger.crontab.minute"),
        ({"trigger": {"type": "crontab", "timezone": "Mars/Olympus"}}, "trigger.crontab.timezone"),
        ({"trigger": {"type": "crontab", "timezone": "../etc/passwd"}}, "trigger.crontab.timezone"),
        ({"trigger": {"type": "once", "at": "2026-12-01T09:00:00"}}, "trigger.once.at"),
        ({"trigger": {"type": "hourly"}}, "trigger"),
        ({"trigger": {"type": "interval", "every": 0}}, "trigger.interval.every"),
        ({"queue": "billing"}, "queue"),
        ({"priority": 10}, "priority"),
        ({"misfire": {"policy": "sometimes"}}, "misfire.policy"),
        ({"max_instances": 0}, "max_instances"),
        ({"name": "has spaces"}, "name"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_definitions_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        spec(**changes)
    assert field in error_fields(info.value)


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ValidationError, match="end_at must be after start_at"):
        spec(start_at="2026-12-02T00:00:00Z", end_at="2026-12-01T00:00:00Z")
