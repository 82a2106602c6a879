"""What the schedule store raises; the API turns each into its HTTP status."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sdp_schedules.records import Undecodable

__all__ = [
    "FieldError",
    "ScheduleChanged",
    "ScheduleConflict",
    "ScheduleError",
    "ScheduleInvalid",
    "ScheduleNotFound",
    "ScheduleUndecodable",
]

FieldError = tuple[str, str]


class ScheduleError(Exception):
    """A schedule operation that cannot be done; the message says why."""


class ScheduleNotFound(ScheduleError):
    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"no schedule {schedule_id!r}")
        self.schedule_id = schedule_id


class ScheduleConflict(ScheduleError):
    """Another schedule already has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a schedule named {name!r} already exists")
        self.name = name


class ScheduleChanged(ScheduleError):
    """Other writers changed the schedule between each read and its write, every retry."""

    def __init__(self, schedule_id: str, attempts: int) -> None:
        super().__init__(
            f"schedule {schedule_id!r} changed meanwhile, {attempts} times in a row; try again"
        )
        self.schedule_id = schedule_id


class ScheduleInvalid(ScheduleError, ValueError):
    """A definition that cannot run; ``fields`` names each bad field and why."""

    def __init__(self, message: str, fields: list[FieldError]) -> None:
        super().__init__(message)
        self.fields = fields

    @classmethod
    def naming(cls, fields: list[FieldError]) -> ScheduleInvalid:
        """One whose message lists each field and why."""
        summary = "; ".join(f"{name}: {why}" for name, why in fields)
        return cls(f"invalid schedule: {summary}", fields)


class ScheduleUndecodable(ScheduleError, ValueError):
    """A stored entry that no longer decodes, met where a whole schedule is needed.

    ``entry`` holds what can be read of it; it can be read, replaced or deleted, nothing else.
    """

    def __init__(self, entry: Undecodable) -> None:
        super().__init__(f"schedule {entry.id!r}: {entry.reason}")
        self.entry = entry
