"""The schedule document (SPEC §5): what a data engineer defines, validated field by field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sdp_core.queues import Queue, TaskName
from sdp_jobs.catalogue import get_job
from sdp_jobs.errors import JobArgumentError
from sdp_schedules import cron
from sdp_schedules.errors import FieldError, ScheduleInvalid

__all__ = [
    "CrontabTrigger",
    "IntervalTrigger",
    "Misfire",
    "OnceTrigger",
    "ScheduleSpec",
    "Trigger",
    "parse_spec",
]

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3_600, "days": 86_400}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntervalTrigger(_Model):
    type: Literal["interval"]
    every: int = Field(ge=1, le=1_000_000)
    unit: Literal["seconds", "minutes", "hours", "days"] = "seconds"

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.every * _UNIT_SECONDS[self.unit])


class CrontabTrigger(_Model):
    type: Literal["crontab"]
    minute: str = "*"
    hour: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"
    day_of_week: str = "*"
    timezone: str = "UTC"

    @field_validator("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    @classmethod
    def _parses(cls, value: str, info: Any) -> str:
        field = getattr(cron, str(info.field_name).upper())
        try:
            cron.parse_field(value, field)
        except cron.CronFieldError as exc:
            raise ValueError(f"bad crontab field: {exc}") from None
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    def values(self, name: str) -> frozenset[int]:
        """The allowed values of one field, e.g. ``values("hour")``."""
        return cron.parse_field(getattr(self, name), getattr(cron, name.upper()))


class OnceTrigger(_Model):
    type: Literal["once"]
    at: AwareDatetime


Trigger = Annotated[IntervalTrigger | CrontabTrigger | OnceTrigger, Field(discriminator="type")]


class Misfire(_Model):
    policy: Literal["skip", "run_once", "run_all"] = "run_once"
    grace_s: int = Field(60, ge=0, le=7 * 86_400, description="How late a slot may still run.")


class ScheduleSpec(_Model):
    """A schedule as written by its author; the store adds id, state and run bookkeeping."""

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    task: TaskName
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    queue: Queue | None = None
    priority: int | None = Field(None, ge=0, le=9)
    trigger: Trigger
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    enabled: bool = True
    expires_s: int | None = Field(None, ge=1, description="The sent task expires after this.")
    misfire: Misfire = Field(default_factory=Misfire)
    max_instances: int = Field(1, ge=1, le=100)
    jitter_s: float = Field(0, ge=0, le=3_600)

    @field_validator("end_at")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        # A field validator (not a model one) so the error names end_at; start_at is declared
        # first, so it has been validated by now.
        start = info.data.get("start_at")
        if value is not None and start is not None and value <= start:
            raise ValueError("end_at must be after start_at")
        return value


def _located(loc: tuple[int | str, ...]) -> str:
    # The discriminated union adds the tag ("trigger.crontab.minute"), which tells the author
    # which kind of trigger was being checked.
    return ".".join(str(part) for part in loc) or "schedule"


def parse_spec(document: Mapping[str, Any] | ScheduleSpec) -> ScheduleSpec:
    """Validate a definition, including its arguments against the job catalogue.

    Raises ``ScheduleInvalid`` naming every bad field, e.g. ``trigger.crontab.minute`` or
    ``kwargs.url``.
    """
    try:
        spec = (
            document
            if isinstance(document, ScheduleSpec)
            else ScheduleSpec.model_validate(dict(document))
        )
    except ValidationError as exc:
        fields: list[FieldError] = [(_located(e["loc"]), e["msg"]) for e in exc.errors()]
        raise ScheduleInvalid(_summary(fields), fields) from None
    if isinstance(spec.trigger, CrontabTrigger):
        from sdp_schedules.timing import crontab_ever_fires  # timing builds on this module

        if not crontab_ever_fires(spec.trigger):
            fields = [("trigger.crontab.day_of_month", "no month in month_of_year has that day")]
            raise ScheduleInvalid(_summary(fields), fields)
    try:
        get_job(spec.task).validate(spec.args, spec.kwargs)
    except JobArgumentError as exc:
        fields = [
            (
                name
                if name in ("args", "kwargs") or name.startswith("kwargs.")
                else f"kwargs.{name}",
                reason,
            )
            for name, reason in exc.fields
        ]
        raise ScheduleInvalid(_summary(fields), fields) from None
    return spec


def _summary(fields: list[FieldError]) -> str:
    return "invalid schedule: " + "; ".join(f"{name}: {reason}" for name, reason in fields)
