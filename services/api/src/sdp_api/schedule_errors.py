"""Schedule store errors as the HTTP services' errors: 404, 409 and 422 naming the field.

A schedule whose stored definition no longer decodes, asked to pause, resume or run, is 409;
so is one that other writers kept changing through every retry of a write.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sdp_http.errors import ApiError, Conflict, NotFound, ValidationFailed
from sdp_http.handlers import error_response
from sdp_schedules.errors import (
    ScheduleChanged,
    ScheduleConflict,
    ScheduleError,
    ScheduleInvalid,
    ScheduleNotFound,
    ScheduleUndecodable,
)

__all__ = ["install_schedule_errors"]


def _as_api_error(exc: ScheduleError) -> ApiError:
    if isinstance(exc, ScheduleNotFound):
        return NotFound(str(exc))
    if isinstance(exc, ScheduleConflict):
        return Conflict(str(exc), [("name", "already used by another schedule")])
    if isinstance(exc, ScheduleChanged):
        return Conflict(str(exc))
    if isinstance(exc, ScheduleUndecodable):
        return Conflict(
            f"{exc}: fix it with PATCH, replace it with PUT, or delete it",
            [("stored_definition", "no longer decodes")],
        )
    if isinstance(exc, ScheduleInvalid):
        return ValidationFailed(str(exc), exc.fields)
    return ValidationFailed(str(exc))


async def _schedule_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ScheduleError)
    error = _as_api_error(exc)
    return error_response(error.status_code, error.code, error.message, error.fields)


def install_schedule_errors(app: FastAPI) -> None:
    app.add_exception_handler(ScheduleError, _schedule_error)
