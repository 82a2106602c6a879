from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from sdp_schedules.cron import (
    DAY_OF_WEEK,
    HOUR,
    MINUTE,
    MONTH_OF_YEAR,
    CronFieldError,
    check_size,
    parse_field,
)
from sdp_schedules.model import STORED, CrontabTrigger, IntervalTrigger, ScheduleSpec

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


# --- strict numbers and bounds ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"trigger": {"type": "interval", "every": True}}, "trigger.interval.every"),
        ({"trigger": {"type": "interval", "every": "5"}}, "trigger.interval.every"),
        ({"trigger": {"type": "interval", "every": 367, "unit": "days"}}, "trigger.interval.every"),
        ({"priority": True}, "priority"),
        ({"expires_s": 9_223_372_036_854_775_807}, "expires_s"),
        ({"jitter_s": "1"}, "jitter_s"),
        ({"start_at": "3000-01-01T00:00:00Z"}, "start_at"),
        ({"trigger": {"type": "crontab", "timezone": "localtime"}}, "trigger.crontab.timezone"),
        ({"trigger": {"type": "crontab", "minute": "0," * 60 + "0"}}, "trigger.crontab.minute"),
    ],
)
def test_lax_or_unbounded_values_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        spec(**changes)
    assert field in error_fields(info.value)


def test_floats_take_integers_and_dates_parse_from_json() -> None:
    document = {**BASE, "jitter_s": 2, "start_at": "2999-12-31T23:59:59.999Z"}
    parsed = ScheduleSpec.model_validate_json(json.dumps(document))
    assert parsed.jitter_s == 2.0
    assert parsed.start_at == datetime(2999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)
    assert ScheduleSpec.model_validate_json(parsed.model_dump_json()) == parsed


def test_a_stored_definition_reads_back_without_the_limits_it_predates() -> None:
    document = {
        **BASE,
        "trigger": {"type": "crontab", "minute": ",".join(["0"] * 20_000), "timezone": "UTC"},
        "start_at": "9999-12-31T00:00:00Z",
        "expires_s": 9_223_372_036_854_775_807,
    }
    with pytest.raises(ValidationError):
        ScheduleSpec.model_validate(document)
    stored = ScheduleSpec.model_validate_json(json.dumps(document), context=STORED)
    assert stored.expires_s == 9_223_372_036_854_775_807
    # What was never allowed stays refused.
    with pytest.raises(ValidationError):
        ScheduleSpec.model_validate({**document, "priority": 10}, context=STORED)


def test_only_iana_place_names_are_zones() -> None:
    for zone in ("UTC", "Etc/UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"):
        assert spec(trigger={"type": "crontab", "timezone": zone}).trigger == CrontabTrigger(
            type="crontab", timezone=zone
        )
    for zone in ("localtime", "posixrules", "Factory", "/etc/localtime", "posix/UTC", ""):
        with pytest.raises(ValidationError):
            spec(trigger={"type": "crontab", "timezone": zone})


def test_a_crontab_list_may_have_one_item_per_value() -> None:
    minutes = ",".join(str(m) for m in range(60))
    trigger = spec(trigger={"type": "crontab", "minute": minutes}).trigger
    assert isinstance(trigger, CrontabTrigger)
    assert trigger.values("minute") == frozenset(range(60))
    with pytest.raises(CronFieldError, match="at most 60"):
        check_size(minutes + ",0", MINUTE)
    with pytest.raises(CronFieldError, match="at most 256"):
        check_size("1" + " " * 256, MINUTE)
