"""A stored schedule and its run records, and how they are laid out in Redis."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sdp_schedules.model import ScheduleSpec

__all__ = ["Run", "RunState", "Schedule", "ScheduleState", "decode_schedule", "spec_json"]


class ScheduleState(StrEnum):
    active = "active"
    paused = "paused"
    finished = "finished"


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


def _int(raw: Any) -> int | None:
    return None if raw is None or raw in {b"", ""} else int(raw)


def decode_schedule(schedule_id: str, raw: dict[Any, Any]) -> Schedule:
    """A schedule from its hash as HGETALL returns it (bytes or str keys)."""
    data = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    return Schedule(
        id=schedule_id,
        spec=ScheduleSpec.model_validate_json(data["spec"]),
        state=ScheduleState(_text(data["state"])),
        version=int(data["version"]),
        created_ms=int(data["created"]),
        updated_ms=int(data["updated"]),
        next_slot_ms=_int(data.get("slot")),
        last_run_ms=_int(data.get("last")),
        run_count=_int(data.get("runs")) or 0,
        static=_text(data.get("static", "")) == "1",
    )


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
