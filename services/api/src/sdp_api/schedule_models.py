"""Request and response models of `/api/v1/schedules` (the document itself is ScheduleSpec)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field, StrictInt, create_model
from pydantic.config import JsonDict, JsonValue
from pydantic.fields import FieldInfo

from sdp_schedules.model import (
    STORED,
    ScheduleSpec,
    Timing,
)
from sdp_schedules.records import Run, Schedule, ScheduleState, Undecodable
from sdp_schedules.timing import from_ms

__all__ = [
    "FireOut",
    "PreviewOut",
    "PreviewRequest",
    "RunOut",
    "RunPage",
    "ScheduleOut",
    "SchedulePage",
    "SchedulePatch",
    "ScheduleRunNow",
    "UndecodableScheduleOut",
    "UpcomingPage",
    "schedule_out",
]

EXAMPLES: list[dict[str, Any]] = [
    {
        "name": "collect-orders",
        "task": "collect.http",
        "kwargs": {"url": "https://example.org/orders.json"},
        "trigger": {"type": "interval", "every": 30, "unit": "seconds"},
        "misfire": {"policy": "run_once", "grace_s": 60},
        "max_instances": 1,
    },
    {
        "name": "nightly-cleanup",
        "task": "system.cleanup",
        "trigger": {
            "type": "crontab",
            "minute": "30",
            "hour": "2",
            "timezone": "Europe/Berlin",
        },
    },
]


SCHEDULE_OUT_EXAMPLE: JsonDict = {
    **EXAMPLES[0],
    "args": [],
    "queue": None,
    "priority": None,
    "start_at": None,
    "end_at": None,
    "enabled": True,
    "expires_s": None,
    "jitter_s": 0.0,
    "id": "6f1c2a9d0b7e4d21",
    "state": "active",
    "next_run_at": "2026-11-24T09:00:30Z",
    "last_run_at": "2026-11-24T09:00:00Z",
    "run_count": 1440,
    "created_at": "2026-11-23T21:00:00Z",
    "updated_at": "2026-11-23T21:00:00Z",
    "static": False,
    "set_aside_at": None,
    "set_aside_reason": None,
}
UNDECODABLE_OUT_EXAMPLE: JsonDict = {
    "id": "9a4e1c7b2d6f0e35",
    "name": "collect-ftp-orders",
    "state": "set_aside",
    "next_run_at": None,
    "last_run_at": "2026-11-20T06:00:00Z",
    "run_count": 311,
    "created_at": "2026-08-01T12:00:00Z",
    "updated_at": "2026-08-01T12:00:00Z",
    "static": False,
    "set_aside_at": "2026-11-24T06:00:00.002Z",
    "set_aside_reason": "the stored definition no longer decodes: task: Input should be "
    "'collect.http', 'etl.transform', 'system.cleanup', 'system.noop' or 'system.sleep'",
    "stored_definition": '{"name":"collect-ftp-orders","task":"collect.ftp",'
    '"trigger":{"type":"crontab","minute":"0","hour":"6"}}',
}
RUN_EXAMPLES: list[JsonValue] = [
    {
        "slot": "2026-11-24T09:00:00Z",
        "fired_at": "2026-11-24T09:00:00.004Z",
        "task_id": "0b5c6f0e-2d53-4c34-9d0c-8f7d1c1f2a10",
        "state": "SUCCESS",
        "count": 1,
        "detail": None,
    },
    {
        "slot": "2026-11-24T08:00:00Z",
        "fired_at": "2026-11-24T08:41:02Z",
        "task_id": None,
        "state": "MISSED",
        "count": 41,
        "detail": "run_once: 41 slots collapsed after downtime",
    },
]


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else from_ms(ms)


class ScheduleOut(ScheduleSpec):
    model_config = ConfigDict(json_schema_extra={"examples": [SCHEDULE_OUT_EXAMPLE]})

    id: str
    state: ScheduleState = Field(
        description="active, paused, finished, or set_aside: beat could not fire it (see "
        "set_aside_reason) and waits for a change or a resume."
    )
    next_run_at: datetime | None = Field(description="The next slot; none when not active.")
    last_run_at: datetime | None
    run_count: int
    created_at: datetime
    updated_at: datetime
    static: bool = Field(description="Seeded from beat's configuration rather than the API.")
    set_aside_at: datetime | None = Field(None, description="When beat set it aside.")
    set_aside_reason: str | None = Field(
        None, description="Why beat could not fire it: the error's type and message."
    )

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleOut:
        # STORED: a schedule stored before a limit it breaks is still shown as it is.
        return cls.model_validate(
            {
                **schedule.spec.model_dump(),
                "id": schedule.id,
                "state": schedule.state,
                "next_run_at": _moment(schedule.next_slot_ms),
                "last_run_at": _moment(schedule.last_run_ms),
                "run_count": schedule.run_count,
                "created_at": _moment(schedule.created_ms),
                "updated_at": _moment(schedule.updated_ms),
                "static": schedule.static,
                "set_aside_at": _moment(schedule.aside_ms),
                "set_aside_reason": schedule.aside_reason,
            },
            context=STORED,
        )


class UndecodableScheduleOut(BaseModel):
    """A stored schedule whose definition no longer decodes (its task left the job catalogue,
    its trigger type no longer exists, it was edited by hand), shown as far as it reads.

    It cannot run, so it is always `set_aside`; PATCH (fixing what breaks it) or PUT (a whole
    definition) brings it back, DELETE removes it, and pause, resume and run now are 409.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [UNDECODABLE_OUT_EXAMPLE]})

    id: str
    name: str | None = Field(description="As the stored definition names it, if it still does.")
    state: Literal[ScheduleState.set_aside]
    next_run_at: None = Field(None, description="Always none: it cannot run.")
    last_run_at: datetime | None
    run_count: int
    # None only where the stored bookkeeping was edited into something else.
    created_at: datetime | None
    updated_at: datetime | None
    static: bool = Field(description="Seeded from beat's configuration rather than the API.")
    set_aside_at: datetime | None = Field(
        description="When a scheduler met it and set it aside; none until one has."
    )
    set_aside_reason: str = Field(
        description="That the stored definition no longer decodes, and why (500 characters "
        "at most)."
    )
    stored_definition: str = Field(description="The stored definition's text as it is (JSON).")

    @classmethod
    def of(cls, entry: Undecodable) -> UndecodableScheduleOut:
        return cls(
            id=entry.id,
            name=entry.name,
            state=ScheduleState.set_aside,
            last_run_at=_moment(entry.last_run_ms),
            run_count=entry.run_count,
            created_at=_moment(entry.created_ms),
            updated_at=_moment(entry.updated_ms),
            static=entry.static,
            set_aside_at=_moment(entry.aside_ms),
            set_aside_reason=entry.reason,
            stored_definition=entry.definition,
        )


def schedule_out(found: Schedule | Undecodable) -> ScheduleOut | UndecodableScheduleOut:
    if isinstance(found, Undecodable):
        return UndecodableScheduleOut.of(found)
    return ScheduleOut.of(found)


class SchedulePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [SCHEDULE_OUT_EXAMPLE, UNDECODABLE_OUT_EXAMPLE],
                    "next_cursor": "collect-orders/6f1c",
                }
            ]
        }
    )

    items: list[ScheduleOut | UndecodableScheduleOut] = Field(
        description="Schedules; one whose stored definition no longer decodes is an "
        "UndecodableScheduleOut (it has `stored_definition`)."
    )
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


def _unset_unless_given(field: FieldInfo) -> tuple[Any, FieldInfo]:
    """A document field as a PATCH takes it: the same type and constraints, MISSING when
    left out.  It takes null only where the document does."""
    patched = copy.copy(field)
    patched.default, patched.default_factory = MISSING, None
    # The constraints travel in the annotation, applied to the value rather than the union.
    patched.metadata = []
    return field.rebuild_annotation() | MISSING, patched


# Built from ScheduleSpec's fields, so the document and its PATCH cannot drift apart; a type
# checker cannot follow create_model and sees the base model.
if TYPE_CHECKING:
    SchedulePatch = BaseModel
else:
    SchedulePatch = create_model(
        "SchedulePatch",
        __doc__="Any subset of the document; a field given replaces the stored one whole.\n\n"
        "A field left out keeps its stored value; only the fields that may be unset (queue,\n"
        "priority, start_at, end_at, expires_s) take null.",
        __config__=ConfigDict(
            extra="forbid",
            json_schema_extra={"examples": [{"trigger": {"type": "interval", "every": 5}}]},
        ),
        **{name: _unset_unless_given(f) for name, f in ScheduleSpec.model_fields.items()},
    )


class RunOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": RUN_EXAMPLES[:1]})

    slot: datetime = Field(description="The slot this run was for.")
    fired_at: datetime
    task_id: str | None = Field(None, description="None for MISSED and SKIPPED runs.")
    state: str = Field(
        description="The task's Celery state (PENDING … SUCCESS/FAILURE), or MISSED (slots "
        "the misfire policy did not send; see count) or SKIPPED (max_instances)."
    )
    count: int = 1
    detail: str | None = None

    @classmethod
    def of(cls, run: Run, state: str | None = None) -> RunOut:
        slot, fired = _moment(run.slot_ms), _moment(run.fired_ms)
        assert slot is not None
        assert fired is not None
        return cls(
            slot=slot,
            fired_at=fired,
            task_id=run.task_id,
            state=state or run.state,
            count=run.count,
            detail=run.detail,
        )


class RunPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": RUN_EXAMPLES, "next_cursor": "20"}]}
    )

    items: list[RunOut]
    next_cursor: str | None


class ScheduleRunNow(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"task_id": "0b5c6f0e-2d53-4c34-9d0c-8f7d1c1f2a10"}]}
    )

    task_id: str


PREVIEW_EXAMPLE: JsonDict = {
    "trigger": EXAMPLES[1]["trigger"],
    "start_at": None,
    "end_at": None,
    "count": 3,
}


class PreviewRequest(Timing):
    """A trigger with its window, as a schedule document has them, and how many fires."""

    model_config = ConfigDict(json_schema_extra={"examples": [PREVIEW_EXAMPLE]})

    count: StrictInt = Field(5, ge=1, le=50, description="How many fires: 1 to 50.")


class PreviewOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "description": "at 02:30 every day (Europe/Berlin)",
                    "fires": [
                        "2026-10-24T02:30:00+02:00",
                        "2026-10-25T02:30:00+02:00",
                        "2026-10-26T02:30:00+01:00",
                    ],
                }
            ]
        }
    )

    description: str = Field(description="The trigger and its window in words.")
    fires: list[datetime] = Field(
        description="The next fires after now (or from start_at), each with its UTC offset in "
        "the schedule's zone (a crontab's timezone; UTC otherwise); fewer when it ends."
    )


class FireOut(BaseModel):
    at: datetime = Field(
        description="When beat sends it: the schedule's next fire at its due time (its slot "
        "plus any jitter drawn for it), later ones at their slots."
    )
    schedule_id: str
    name: str
    task: str


class UpcomingPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "at": "2026-11-24T09:00:30Z",
                            "schedule_id": "6f1c2a9d0b7e4d21",
                            "name": "collect-orders",
                            "task": "collect.http",
                        }
                    ],
                    "next_cursor": "1795510830000-6f1c2a9d0b7e4d21",
                }
            ]
        }
    )

    items: list[FireOut] = Field(description="In time order; fires at the same time by id.")
    next_cursor: str | None = Field(
        description="Pass as `cursor`, with the same since and until, for the next page."
    )
