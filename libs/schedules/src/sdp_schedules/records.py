"""A stored schedule and its run records, and how they are laid out in Redis."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError

from sdp_core.replies import optional_int, text
from sdp_schedules.model import STORED, ScheduleSpec, field_errors

__all__ = [
    "ENTRY_FIELDS",
    "REASON_MAX_CHARS",
    "Run",
    "RunState",
    "Schedule",
    "ScheduleState",
    "Undecodable",
    "decode_entry",
    "decode_schedule",
    "entry_version",
    "escape_field",
    "read_schedule",
    "spec_json",
]

# A stored entry is these bookkeeping fields, comma-separated in this order, then "|" and the
# definition's JSON; the Lua scripts write it (scripts._ENTRY) and decode_entry reads it.
# Fields are only ever added at the end, so an entry written before one existed reads it as "".
# "aside" and "reason" say when and why beat set the schedule aside (escape_field'd text).
ENTRY_FIELDS = (
    "version",
    "state",
    "slot",
    "created",
    "updated",
    "last",
    "runs",
    "static",
    "aside",
    "reason",
)
# The longest reason kept for a schedule set aside.
REASON_MAX_CHARS = 500


class ScheduleState(StrEnum):
    active = "active"
    paused = "paused"
    finished = "finished"
    # Its definition could not be fired (beat logged why once); it waits for a fix or resume.
    set_aside = "set_aside"


class RunState(StrEnum):
    """A run's outcome; SENT turns into the task's Celery state when read back."""

    sent = "SENT"
    missed = "MISSED"
    skipped = "SKIPPED"


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    spec: ScheduleSpec
    state: ScheduleState
    version: int
    created_ms: int
    updated_ms: int
    next_slot_ms: int | None = None
    last_run_ms: int | None = None
    run_count: int = 0
    static: bool = False
    # When and why beat set it aside (state set_aside).
    aside_ms: int | None = None
    aside_reason: str | None = None

    @property
    def name(self) -> str:
        """Its definition's name (an Undecodable's, when it still reads)."""
        return self.spec.name


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A stored entry that no longer decodes: what can honestly be read of it, and why.

    Its task may have left the job catalogue, its trigger type may no longer exist, or it was
    edited by hand.  It cannot be fired, so it counts as set aside wherever it is shown.
    """

    id: str
    # As written (entry_version): the writes that replace, delete or set it aside compare it.
    version: str
    # The stored definition's text, as it is.
    definition: str
    # Why it does not decode, e.g. "task: Input should be 'collect.http', ...".
    problem: str
    # The fields below are None where the stored text does not say.
    name: str | None = None
    created_ms: int | None = None
    updated_ms: int | None = None
    last_run_ms: int | None = None
    run_count: int = 0
    static: bool = False
    aside_ms: int | None = None

    @property
    def reason(self) -> str:
        """Why it is set aside, as a set-aside reason (REASON_MAX_CHARS at most)."""
        return f"the stored definition no longer decodes: {self.problem}"[:REASON_MAX_CHARS]

    @classmethod
    def of(cls, schedule_id: str, raw: str | bytes, error: Exception) -> Undecodable:
        data = decode_entry(raw, lenient=True)
        if isinstance(error, ValidationError):
            problem = "; ".join(f"{field}: {why}" for field, why in field_errors(error))
        else:
            problem = f"{type(error).__name__}: {error}"
        return cls(
            id=schedule_id,
            version=data["version"],
            definition=data["spec"],
            problem=problem[:REASON_MAX_CHARS],
            name=_stored_name(data["spec"]),
            created_ms=_lenient_int(data["created"]),
            updated_ms=_lenient_int(data["updated"]),
            last_run_ms=_lenient_int(data["last"]),
            run_count=_lenient_int(data["runs"]) or 0,
            static=data["static"] == "1",
            aside_ms=_lenient_int(data["aside"]),
        )


@dataclass(frozen=True, slots=True)
class Run:
    slot_ms: int
    fired_ms: int
    state: str
    task_id: str | None = None
    # MISSED records stand for `count` slots starting at slot_ms.
    count: int = 1
    detail: str | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {"slot": self.slot_ms, "fired": self.fired_ms, "state": self.state}
        if self.task_id:
            data["task_id"] = self.task_id
        if self.count != 1:
            data["count"] = self.count
        if self.detail:
            data["detail"] = self.detail
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Run:
        data = json.loads(raw)
        return cls(
            slot_ms=int(data["slot"]),
            fired_ms=int(data["fired"]),
            state=str(data["state"]),
            task_id=data.get("task_id"),
            count=int(data.get("count", 1)),
            detail=data.get("detail"),
        )


def spec_json(spec: ScheduleSpec) -> str:
    # Defaults are left out: most schedules use them, and a smaller hash is most of the
    # per-schedule memory.
    return spec.model_dump_json(exclude_defaults=True)


def _lenient_int(raw: str) -> int | None:
    try:
        return optional_int(raw)
    except ValueError:
        return None


def _stored_name(definition: str) -> str | None:
    """The name in a stored definition that may not decode, if it still has one."""
    try:
        name = json.loads(definition).get("name")
    except (ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def escape_field(value: str) -> str:
    """Text made safe for a comma-separated entry field; ``unquote`` gives it back."""
    return value.replace("%", "%25").replace(",", "%2C").replace("|", "%7C")


def entry_version(raw: str | bytes) -> str:
    """A stored entry's version as written, even when the rest of it does not decode."""
    return decode_entry(raw, lenient=True)["version"]


def decode_entry(raw: str | bytes, *, lenient: bool = False) -> dict[str, str]:
    """A stored entry's fields by name ("" for one not set), ``spec`` the definition's JSON.

    Fields past the known ones (a later layout's) are refused, or ignored when ``lenient``.
    """
    head, _, spec = text(raw).partition("|")
    values = head.split(",")
    if len(values) > len(ENTRY_FIELDS) and not lenient:
        raise ValueError(f"an entry has {len(values)} fields; at most {len(ENTRY_FIELDS)}")
    fields = dict.fromkeys(ENTRY_FIELDS, "")
    fields.update(zip(ENTRY_FIELDS, values, strict=False))
    return fields | {"spec": spec}


def decode_schedule(schedule_id: str, raw: str | bytes) -> Schedule:
    """A schedule from its stored entry, read without the limits it may predate (STORED)."""
    data = decode_entry(raw)
    return Schedule(
        id=schedule_id,
        spec=ScheduleSpec.model_validate_json(data["spec"], context=STORED),
        state=ScheduleState(data["state"]),
        version=int(data["version"]),
        created_ms=int(data["created"]),
        updated_ms=int(data["updated"]),
        next_slot_ms=optional_int(data["slot"]),
        last_run_ms=optional_int(data["last"]),
        run_count=optional_int(data["runs"]) or 0,
        static=data["static"] == "1",
        aside_ms=optional_int(data["aside"]),
        aside_reason=unquote(data["reason"]) or None,
    )


def read_schedule(schedule_id: str, raw: str | bytes) -> Schedule | Undecodable:
    """A stored entry as a schedule, or as what can be read of it when it no longer decodes."""
    try:
        return decode_schedule(schedule_id, raw)
    except Exception as exc:  # decoding does no I/O: whatever fails, fails on the stored text
        return Undecodable.of(schedule_id, raw, exc)
