"""`/api/v1/schedules`: define, list, change, pause, resume, run now and read run history;
preview a trigger and list the fires coming up across schedules.

A stored schedule whose definition no longer decodes is read as an UndecodableScheduleOut; it
can be fixed by PATCH, replaced by PUT or deleted, and pause, resume and run now are 409.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Query, Response, status

from sdp_api.deps import (
    CeleryDep,
    DefinitionsDep,
    EngineDep,
    FiringDep,
    RedisDep,
    SettingsDep,
)
from sdp_api.schedule_models import (
    EXAMPLES,
    FireOut,
    PreviewOut,
    PreviewRequest,
    RunOut,
    RunPage,
    ScheduleOut,
    SchedulePage,
    SchedulePatch,
    ScheduleRunNow,
    UndecodableScheduleOut,
    UpcomingPage,
    schedule_out,
)
from sdp_api.submission import send_recorded
from sdp_core.results import task_states
from sdp_http.auth import OperatorDep, ViewerDep
from sdp_http.errors import Conflict, ValidationFailed
from sdp_http.schemas import error_responses
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.errors import ScheduleInvalid
from sdp_schedules.model import Moment, ScheduleSpec, check_trigger
from sdp_schedules.preview import describe, next_fires
from sdp_schedules.records import Run, RunState, Schedule, ScheduleState, Undecodable
from sdp_schedules.sending import send_options
from sdp_schedules.timing import from_ms, to_ms
from sdp_schedules.upcoming import Position, UpcomingTooCostly, upcoming

router = APIRouter(prefix="/schedules", tags=["schedules"])

_HOUR_MS = 3_600_000
# The longest window of upcoming fires: a week, as far as a timeline looks ahead.
_WINDOW_MAX_MS = 7 * 24 * _HOUR_MS

_READ = error_responses(401, 403, 404, 503)
_WRITE = error_responses(401, 403, 404, 409, 422, 503)
# pause, resume, run now: 409 for a schedule whose stored definition no longer decodes.
_ACT = error_responses(401, 403, 404, 409, 503)
Document = Annotated[
    ScheduleSpec, Body(openapi_examples={e["name"]: {"value": e} for e in EXAMPLES})
]


# OpenAPI links from a created schedule to what its id is for (a client, or a stateful fuzzer,
# follows them); each operation named here carries this operation_id.
_BY_ID = (
    "get_schedule",
    "patch_schedule",
    "put_schedule",
    "delete_schedule",
    "pause_schedule",
    "resume_schedule",
    "run_schedule",
    "list_schedule_runs",
)
_CREATED_LINKS = {
    operation: {"operationId": operation, "parameters": {"schedule_id": "$response.body#/id"}}
    for operation in _BY_ID
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleOut,
    responses={
        **error_responses(401, 403, 409, 422, 503),
        status.HTTP_201_CREATED: {"links": _CREATED_LINKS},
    },
)
def create(body: Document, _: OperatorDep, definitions: DefinitionsDep) -> ScheduleOut:
    return ScheduleOut.of(definitions.create(body))


@router.get("", response_model=SchedulePage, responses=error_responses(401, 403, 422, 503))
def list_schedules(
    *,
    _: ViewerDep,
    definitions: DefinitionsDep,
    state: ScheduleState | None = None,
    task: str | None = None,
    queue: str | None = None,
    name: Annotated[str, Query(description="Names starting with this.")] = "",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SchedulePage:
    """Schedules in name order. A filtered page examines a bounded number of schedules, so
    it may hold fewer than `limit` items while `next_cursor` is set: follow it to the end."""
    page = definitions.page(
        state=state, task=task, queue=queue, name_prefix=name, cursor=cursor, limit=limit
    )
    return SchedulePage(items=[schedule_out(s) for s in page.items], next_cursor=page.next_cursor)


@router.post("/preview", response_model=PreviewOut, responses=error_responses(401, 403, 422))
def preview(body: PreviewRequest, _: ViewerDep, definitions: DefinitionsDep) -> PreviewOut:
    """A trigger in words and its next `count` fires, as a schedule defined now would have
    them; changes nothing. A bad trigger is 422 naming its fields, as for a new schedule."""
    check_trigger(body.trigger)
    return PreviewOut(
        description=describe(body), fires=next_fires(body, definitions.clock(), body.count)
    )


@router.get("/upcoming", response_model=UpcomingPage, responses=error_responses(401, 403, 422, 503))
def list_upcoming(
    *,
    _: ViewerDep,
    definitions: DefinitionsDep,
    since: Annotated[Moment | None, Query(description="From this time on; default now.")] = None,
    until: Annotated[
        Moment | None,
        Query(description="Up to this time, at most 7 days after since; default an hour after it."),
    ] = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,15}-[0-9a-z]{1,32}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UpcomingPage:
    """The fires of every active schedule in a window, in time order (at the same time, by
    schedule id), `limit` at a time. A page reads about `limit` schedules, plus each one due
    before its start (a window ahead of now, or a cursor deep into a busy one), at most
    10,000 of those: more is 422."""
    since_ms = definitions.clock() if since is None else to_ms(since)
    until_ms = since_ms + _HOUR_MS if until is None else to_ms(until)
    if until_ms < since_ms:
        raise ValidationFailed("until is before since", [("until", "is before since")])
    if until_ms - since_ms > _WINDOW_MAX_MS:
        raise ValidationFailed(
            "the window is longer than 7 days", [("until", "at most 7 days after since")]
        )
    after = None if cursor is None else Position.parse(cursor)
    try:
        page = upcoming(definitions, since_ms, until_ms, limit, after)
    except UpcomingTooCostly as exc:
        field = "cursor" if after is not None and after.at_ms > since_ms else "since"
        raise ValidationFailed(
            str(exc), [(field, f"more than {exc.budget:,} schedules fall due before it")]
        ) from None
    return UpcomingPage(
        items=[
            FireOut(at=from_ms(f.at_ms), schedule_id=f.schedule_id, name=f.name, task=f.task)
            for f in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/{schedule_id}",
    response_model=ScheduleOut | UndecodableScheduleOut,
    responses=_READ,
    operation_id="get_schedule",
)
def get(
    schedule_id: str, _: ViewerDep, definitions: DefinitionsDep
) -> ScheduleOut | UndecodableScheduleOut:
    """A schedule; one whose stored definition no longer decodes has `stored_definition`."""
    return schedule_out(definitions.read(schedule_id))


def _static_conflict(found: Schedule | Undecodable, change: str) -> Conflict:
    # Beat seeds static schedules from its configuration and re-seeds them on every re-sync,
    # so a change made here would be undone (or a deleted one come back).
    if isinstance(found, Undecodable):
        return Conflict(
            f"schedule {found.name or found.id!r} is static and {found.reason}: delete it, "
            "and beat seeds it again from its configuration (beat_schedule)",
            [("static", "defined by beat's configuration")],
        )
    return Conflict(
        f"schedule {found.name!r} is static: it comes from beat's configuration "
        f"(beat_schedule), so {change} it there; pausing and resuming work here",
        [("static", "defined by beat's configuration")],
    )


def _replace(
    definitions: ScheduleDefinitions, current: Schedule | Undecodable, document: dict[str, Any]
) -> ScheduleOut:
    """Put a new definition in place; a static schedule may change only `enabled` (409)."""
    if current.static:
        if isinstance(current, Undecodable):
            raise _static_conflict(current, "change")
        stored = current.spec.model_dump(mode="json")
        if any(document.get(k) != stored[k] for k in stored.keys() - {"enabled"}):
            raise _static_conflict(current, "change")
    try:
        return ScheduleOut.of(definitions.replace(current.id, document))
    except ScheduleInvalid as exc:
        if not isinstance(current, Undecodable):
            raise
        raise ValidationFailed(
            "the stored definition no longer decodes, and the change leaves it invalid (fix "
            f"each field named, or PUT a whole definition): {exc}",
            exc.fields,
        ) from None


@router.patch(
    "/{schedule_id}", response_model=ScheduleOut, responses=_WRITE, operation_id="patch_schedule"
)
def patch(
    schedule_id: str, body: SchedulePatch, _: OperatorDep, definitions: DefinitionsDep
) -> ScheduleOut:
    """Change fields; a static schedule's only field that changes here is `enabled` (409).

    On a schedule whose stored definition no longer decodes, the fields given replace those
    of the stored JSON, and the result must be a valid definition (422 names what is still
    wrong): so a PATCH can fix just what broke it.
    """
    current = definitions.read(schedule_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    if isinstance(current, Undecodable):
        return _replace(definitions, current, {**_stored_document(current), **changes})
    return _replace(definitions, current, {**current.spec.model_dump(mode="json"), **changes})


def _stored_document(entry: Undecodable) -> dict[str, Any]:
    """The stored definition's JSON object, or nothing when it is no JSON object at all."""
    try:
        document = json.loads(entry.definition)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


@router.put(
    "/{schedule_id}", response_model=ScheduleOut, responses=_WRITE, operation_id="put_schedule"
)
def put(
    schedule_id: str, body: Document, _: OperatorDep, definitions: DefinitionsDep
) -> ScheduleOut:
    """Replace the whole definition, as for a new schedule (a field left out takes its
    default); also the way to bring back one whose stored definition no longer decodes.
    A static schedule's only field that changes here is `enabled` (409)."""
    return _replace(definitions, definitions.read(schedule_id), body.model_dump(mode="json"))


@router.delete(
    "/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 409, 503),
    operation_id="delete_schedule",
)
def delete(schedule_id: str, _: OperatorDep, definitions: DefinitionsDep) -> None:
    """Delete a schedule and its run history; a static one is 409 (pause it instead),
    unless its stored definition no longer decodes (beat seeds it again)."""
    current = definitions.read(schedule_id)
    if current.static and not isinstance(current, Undecodable):
        raise _static_conflict(current, "remove")
    definitions.delete(schedule_id)


@router.post(
    "/{schedule_id}/pause",
    response_model=ScheduleOut,
    responses=_ACT,
    operation_id="pause_schedule",
)
def pause(schedule_id: str, _: OperatorDep, definitions: DefinitionsDep) -> ScheduleOut:
    return ScheduleOut.of(definitions.pause(schedule_id))


@router.post(
    "/{schedule_id}/resume",
    response_model=ScheduleOut,
    responses=_ACT,
    operation_id="resume_schedule",
)
def resume(schedule_id: str, _: OperatorDep, definitions: DefinitionsDep) -> ScheduleOut:
    return ScheduleOut.of(definitions.resume(schedule_id))


@router.post(
    "/{schedule_id}/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ScheduleRunNow,
    responses=error_responses(401, 403, 404, 409, 422, 503),
    operation_id="run_schedule",
)
async def run_now(
    *,
    schedule_id: str,
    principal: OperatorDep,
    definitions: DefinitionsDep,
    firing: FiringDep,
    celery: CeleryDep,
    redis: RedisDep,
    settings: SettingsDep,
    engine: EngineDep,
) -> ScheduleRunNow:
    """Send the schedule's task now, outside its timetable, as a slot of it is sent (its
    queue, priority and expiry); the run is recorded in history. 422 when its arguments no
    longer fit the job catalogue.

    With the in-process engine (``USE_CELERY=false``) the job runs on this replica instead.
    """
    schedule = await anyio.to_thread.run_sync(definitions.get, schedule_id)
    if engine is not None:
        return ScheduleRunNow(task_id=engine.run_now(schedule))
    now = firing.clock()
    task_id = await send_recorded(
        celery,
        redis,
        schedule.spec.task.value,
        principal.subject,
        settings.result_expires_s,
        **send_options(schedule, now),
    )
    run = Run(now, now, RunState.sent.value, task_id=task_id, detail="run now")
    await anyio.to_thread.run_sync(
        lambda: firing.record(schedule_id, [run], started=[(task_id, now)])
    )
    return ScheduleRunNow(task_id=task_id)


@router.get(
    "/{schedule_id}/runs",
    response_model=RunPage,
    responses=_READ,
    operation_id="list_schedule_runs",
)
def runs(
    schedule_id: str,
    _: ViewerDep,
    firing: FiringDep,
    celery: CeleryDep,
    # At most 18 digits: the offset stays a 64-bit index Redis takes (found by the fuzz suite).
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RunPage:
    """Newest first; a sent run shows its task's state from the result backend."""
    offset = int(cursor or 0)
    records = firing.runs(schedule_id, offset=offset, limit=limit)
    states = task_states(
        celery, [r.task_id for r in records if r.task_id and r.state == RunState.sent]
    )
    return RunPage(
        items=[RunOut.of(r, states.get(r.task_id or "")) for r in records],
        next_cursor=str(offset + limit) if len(records) == limit else None,
    )
