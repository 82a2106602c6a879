"""The schedule document (SPEC §5): what a data engineer defines, validated field by field.

Numbers are strict (JSON ``true`` or ``"5"`` is no number) and every number and date is
bounded by what the timetable and Celery's send can carry.  Limits a stored entry may predate
(the date window, the longest period and expiry, IANA zone names, crontab sizes) are not
applied while reading one back (``STORED``): such an entry still reads, pauses and deletes,
and is held to them only when its definition is changed.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sdp_core import validation
from sdp_core.queues import Priority, Queue, TaskName
from sdp_jobs.catalogue import get_job
from sdp_jobs.errors import JobArgumentError
from sdp_schedules import cron
from sdp_schedules.errors import FieldError, ScheduleInvalid

__all__ = [
    "EARLIEST",
    "EXPIRES_MAX_S",
    "HORIZON",
    "PERIOD_MAX_S",
    "STORED",
    "CrontabTrigger",
    "ExpiresS",
    "IntervalTrigger",
    "JitterS",
    "MaxInstances",
    "Misfire",
    "Moment",
    "Name",
    "OnceTrigger",
    "ScheduleSpec",
    "Timing",
    "Trigger",
    "check_trigger",
    "field_errors",
    "parse_spec",
]

# Dates lie in [EARLIEST, HORIZON) and no timetable computes a slot at or after HORIZON:
# slots count epoch milliseconds from 1970, and what is computed from a date (an eight-year
# crontab walk, a period, an expiry at send time) stays centuries inside datetime's year 9999.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
HORIZON: Final = datetime(3000, 1, 1, tzinfo=UTC)
# The longest interval period and task expiry: a leap year.  A longer wait belongs in a
# crontab; Celery turns an expiry into now + timedelta at every send.
PERIOD_MAX_S: Final = 366 * 86_400
EXPIRES_MAX_S: Final = PERIOD_MAX_S
# Names zoneinfo loads that are not places: they follow the host, or mean "zone not set".
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})
# Validation context for reading a stored definition back.
STORED: Final = {"stored": True}

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3_600, "days": 86_400}


def _admitting(info: ValidationInfo) -> bool:
    """Whether the limits a stored entry may predate apply: always, except under STORED."""
    return not (isinstance(info.context, dict) and info.context.get("stored"))


@cache
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def _in_window(value: datetime, info: ValidationInfo) -> datetime:
    if _admitting(info) and not EARLIEST <= value < HORIZON:
        raise ValueError("must be at or after 1970-01-01T00:00:00Z and before 3000-01-01T00:00:00Z")
    return value


def _expiry_admitted(value: int, info: ValidationInfo) -> int:
    if _admitting(info) and value > EXPIRES_MAX_S:
        raise ValueError(f"must be at most {EXPIRES_MAX_S:,} seconds (366 days)")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_in_window),
    Field(description="With a UTC offset; from 1970-01-01T00:00:00Z to before 3000-01-01."),
]
ExpiresS = Annotated[
    StrictInt,
    Field(
        ge=1,
        json_schema_extra={"maximum": EXPIRES_MAX_S},
        description="The sent task expires this many seconds after it is sent, if it has not "
        f"started: 1 to {EXPIRES_MAX_S:,} (366 days).",
    ),
    AfterValidator(_expiry_admitted),
]
MaxInstances = Annotated[
    StrictInt,
    Field(ge=1, le=100, description="Runs that may be unfinished at once, 1 to 100 (default 1)."),
]
JitterS = Annotated[
    StrictFloat,
    Field(
        ge=0,
        le=3_600,
        description="Each slot is sent up to this many seconds late, at random: 0 to 3,600.",
    ),
]
CronExpression = Annotated[
    str,
    Field(
        json_schema_extra={"maxLength": cron.MAX_LENGTH},
        description=f"Vixie cron syntax; at most {cron.MAX_LENGTH} characters and as many "
        "comma-separated items as the field has values.",
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntervalTrigger(_Model):
    type: Literal["interval"]
    # Before every, so every's check can read it.
    unit: Literal["seconds", "minutes", "hours", "days"] = "seconds"
    every: StrictInt = Field(
        ge=1,
        le=PERIOD_MAX_S,
        description="The period in units; at most 366 days: 31,622,400 seconds, 527,040 "
        "minutes, 8,784 hours or 366 days.",
    )

    @field_validator("every")
    @classmethod
    def _period_bounded(cls, value: int, info: ValidationInfo) -> int:
        unit = info.data.get("unit")
        if unit is not None and _admitting(info) and value * _UNIT_SECONDS[unit] > PERIOD_MAX_S:
            most = PERIOD_MAX_S // _UNIT_SECONDS[unit]
            raise ValueError(f"the period is at most 366 days: every is at most {most:,} {unit}")
        return value

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.every * _UNIT_SECONDS[self.unit])


class CrontabTrigger(_Model):
    type: Literal["crontab"]
    minute: CronExpression = "*"
    hour: CronExpression = "*"
    day_of_month: CronExpression = "*"
    month_of_year: CronExpression = "*"
    day_of_week: CronExpression = "*"
    timezone: str = Field(
        "UTC",
        description="An IANA zone name such as `Europe/Berlin` or `UTC`; not `localtime`, "
        "`posixrules`, `Factory` or a path.",
    )

    @field_validator("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    @classmethod
    def _parses(cls, value: str, info: ValidationInfo) -> str:
        field = getattr(cron, str(info.field_name).upper())
        try:
            if _admitting(info):
                cron.check_size(value, field)
            cron.parse_field(value, field)
        except cron.CronFieldError as exc:
            raise ValueError(f"bad crontab field: {exc}") from None
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str, info: ValidationInfo) -> str:
        if _admitting(info) and value not in _iana_zones():
            raise ValueError(f"unknown IANA timezone {value!r}")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a directory of the zone tree, such as "America", read under STORED.
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    def values(self, name: str) -> frozenset[int]:
        """The allowed values of one field, e.g. ``values("hour")``."""
        return cron.parse_field(getattr(self, name), getattr(cron, name.upper()))

    @property
    def either_day(self) -> bool:
        """Whether a day matches on either day field (both restricted) rather than on both."""
        # Vixie cron: a field counts as unrestricted when it starts with "*", even "*/2".
        return not self.day_of_month.startswith("*") and not self.day_of_week.startswith("*")

    def ever_fires(self) -> bool:
        """Whether some month has a matching day, counting February as 29 days."""
        if self.either_day:
            return True  # every weekday occurs in every month
        first_day = min(self.values("day_of_month"))
        # 2000 was a leap year, so February counts 29 days.
        return any(
            first_day <= monthrange(2000, month)[1] for month in self.values("month_of_year")
        )


class OnceTrigger(_Model):
    type: Literal["once"]
    at: Moment


Trigger = Annotated[IntervalTrigger | CrontabTrigger | OnceTrigger, Field(discriminator="type")]


class Misfire(_Model):
    policy: Literal["skip", "run_once", "run_all"] = "run_once"
    grace_s: StrictInt = Field(
        60, ge=0, le=7 * 86_400, description="How late a slot may still run: 0 to 604,800 s."
    )


class ScheduleSpec(_Model):
    """A schedule as written by its author; the store adds id, state and run bookkeeping."""

    name: Name
    task: TaskName
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    queue: Queue | None = None
    priority: Priority | None = None
    trigger: Trigger
    start_at: Moment | None = None
    end_at: Moment | None = None
    enabled: StrictBool = True
    expires_s: ExpiresS | None = None
    misfire: Misfire = Field(default_factory=Misfire)
    max_instances: MaxInstances = 1
    jitter_s: JitterS = 0

    @field_validator("end_at")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return _end_after_start(value, info)


class Timing(_Model):
    """A trigger with the window it fires in: what a schedule's fires depend on."""

    trigger: Trigger
    start_at: Moment | None = None
    end_at: Moment | None = None

    @field_validator("end_at")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return _end_after_start(value, info)


def _end_after_start(value: datetime | None, info: ValidationInfo) -> datetime | None:
    # A field validator (not a model one) so the error names end_at; start_at is declared
    # first, so it has been validated by now.
    start = info.data.get("start_at")
    if value is not None and start is not None and value <= start:
        raise ValueError("end_at must be after start_at")
    return value


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Each bad field of a definition and why, e.g. ``("trigger.crontab.minute", "...")``."""
    # The discriminated union adds the tag ("trigger.crontab.minute"), which tells the author
    # which kind of trigger was being checked.
    return validation.field_errors(exc, "schedule")


def check_trigger(trigger: IntervalTrigger | CrontabTrigger | OnceTrigger) -> None:
    """Refuse a crontab no date matches (ScheduleInvalid), which field validation cannot see."""
    if isinstance(trigger, CrontabTrigger) and not trigger.ever_fires():
        fields = [("trigger.crontab.day_of_month", "no month in month_of_year has that day")]
        raise ScheduleInvalid.naming(fields)


def parse_spec(document: Mapping[str, Any] | ScheduleSpec) -> ScheduleSpec:
    """Validate a definition, including its arguments against the job catalogue.

    Raises ``ScheduleInvalid`` naming every bad field, e.g. ``trigger.crontab.minute`` or
    ``kwargs.url``.  A ScheduleSpec passed in has had its fields validated when it was built;
    one read back under ``STORED`` is taken as it is, so pausing it needs no limit it predates.
    """
    try:
        spec = (
            document
            if isinstance(document, ScheduleSpec)
            else ScheduleSpec.model_validate(dict(document))
        )
    except ValidationError as exc:
        raise ScheduleInvalid.naming(field_errors(exc)) from None
    check_trigger(spec.trigger)
    try:
        get_job(spec.task).validate(spec.args, spec.kwargs)
    except JobArgumentError as exc:
        raise ScheduleInvalid.naming(exc.request_fields()) from None
    return spec
