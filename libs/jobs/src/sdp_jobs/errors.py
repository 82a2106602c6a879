"""Errors a job raises; each ends the task as FAILURE with its message, except transient ones."""

from __future__ import annotations

__all__ = ["FieldError", "JobArgumentError", "JobError", "TransientJobError", "UnknownJob"]

FieldError = tuple[str, str]


class JobError(Exception):
    """A job could not do its work; the message says why."""


# What a request names beside a job's own arguments, which it holds under ``kwargs``.
_REQUEST_ROOTS = ("task", "args", "kwargs")


class JobArgumentError(JobError, ValueError):
    """The arguments do not fit the job; ``fields`` names each bad one and why."""

    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.fields: list[FieldError] = fields or []

    def request_fields(self) -> list[FieldError]:
        """``fields`` as a request (a task submission, a schedule) names them: ``kwargs.url``."""
        return [
            (name if name.split(".", 1)[0] in _REQUEST_ROOTS else f"kwargs.{name}", reason)
            for name, reason in self.fields
        ]


class UnknownJob(JobArgumentError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown task {name!r}", [("task", f"unknown task {name!r}")])
        self.name = name


class TransientJobError(JobError):
    """A failure worth retrying later (a 5xx answer, a dropped connection)."""
