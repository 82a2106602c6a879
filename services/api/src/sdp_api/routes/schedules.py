"""`/api/v1/schedules`: define, list, change, pause, resume, run now and read run history."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Body, Query, Response, status

from sdp_api.deps import CeleryDep, EngineDep, RedisDep, SettingsDep, StoreDep
from sdp_api.schedule_models import (
    EXAMPLES,
    RunOut,
    RunPage,
    ScheduleOut,
    SchedulePage,
    SchedulePatch,
    ScheduleRunNow,
)
from sdp_api.schemas import TaskSubmission
from sdp_api.submission import submit_task
from sdp_core.results import task_states
from sdp_http.auth import OperatorDep, ViewerDep
from sdp_http.errors import Conflict
from sdp_http.schemas import error_responses
from sdp_schedules.model import ScheduleSpec
from sdp_schedules.records import Run, RunState, Schedule, ScheduleState

router = APIRouter(prefix="/schedules", tags=["schedules"])

_READ = error_responses(401, 403, 404, 503)
_WRITE = error_responses(401, 403, 404, 409, 422, 503)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleOut,
    responses=error_responses(401, 403, 409, 422, 503),
)
def create(
    body: Annotated[
        ScheduleSpec, Body(openapi_examples={e["name"]: {"value": e} for e in EXAMPLES})
    ],
    _: OperatorDep,
    store: StoreDep,
) -> ScheduleOut:
    return ScheduleOut.of(store.create(body))


@router.get("", response_model=SchedulePage, responses=error_responses(401, 403, 422, 503))
def list_schedules(
    *,
    _: ViewerDep,
    store: StoreDep,
    state: ScheduleState | None = None,
    task: str | None = None,
    queue: str | None = None,
    name: Annotated[str, Query(description="Names starting with this.")] = "",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SchedulePage:
    """Schedules in name order. A filtered page examines a bounded number of schedules, so
    it may hold fewer than `limit` items while `next_cursor` is set: follow it to the end."""
    page = store.page(
        state=state, task=task, queue=queue, name_prefix=name, cursor=cursor, limit=limit
    )
    return SchedulePage(items=[ScheduleOut.of(s) for s in page.items], next_cursor=page.next_cursor)


@router.get("/{schedule_id}", response_model=ScheduleOut, responses=_READ)
def get(schedule_id: str, _: ViewerDep, store: StoreDep) -> ScheduleOut:
    return ScheduleOut.of(store.get(schedule_id))


def _static_conflict(schedule: Schedule, change: str) -> Conflict:
    # Beat seeds static schedules from its configuration and re-seeds them on every re-sync,
    # so a change made here would be undone (or a deleted one come back).
    return Conflict(
        f"schedule {schedule.spec.name!r} is static: it comes from beat's configuration "
        f"(beat_schedule), so {change} it there; pausing and resuming work here",
        [("static", "defined by beat's configuration")],
    )


@router.patch("/{schedule_id}", response_model=ScheduleOut, responses=_WRITE)
def patch(schedule_id: str, body: SchedulePatch, _: OperatorDep, store: StoreDep) -> ScheduleOut:
    """Change fields; a static schedule's only field that changes here is `enabled` (409)."""
    current = store.get(schedule_id)
    stored = current.spec.model_dump(mode="json")
    changes = body.model_dump(mode="json", exclude_unset=True)
    if current.static and any(changes[k] != stored[k] for k in changes.keys() - {"enabled"}):
        raise _static_conflict(current, "change")
    return ScheduleOut.of(store.replace(schedule_id, {**stored, **changes}))


@router.delete(
    "/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 409, 503),
)
def delete(schedule_id: str, _: OperatorDep, store: StoreDep) -> None:
    """Delete a schedule and its run history; a static one is 409 (pause it instead)."""
    current = store.get(schedule_id)
    if current.static:
        raise _static_conflict(current, "remove")
    store.delete(schedule_id)


@router.post("/{schedule_id}/pause", response_model=ScheduleOut, responses=_READ)
def pause(schedule_id: str, _: OperatorDep, store: StoreDep) -> ScheduleOut:
    return ScheduleOut.of(store.pause(schedule_id))


@router.post("/{schedule_id}/resume", response_model=ScheduleOut, responses=_READ)
def resume(schedule_id: str, _: OperatorDep, store: StoreDep) -> ScheduleOut:
    return ScheduleOut.of(store.resume(schedule_id))


@router.post(
    "/{schedule_id}/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ScheduleRunNow,
    responses=_READ,
)
async def run_now(
    *,
    schedule_id: str,
    principal: OperatorDep,
    store: StoreDep,
    celery: CeleryDep,
    redis: RedisDep,
    settings: SettingsDep,
    engine: EngineDep,
) -> ScheduleRunNow:
    """Send the schedule's task now, outside its timetable; the run is recorded in history.

    With the in-process engine (``USE_CELERY=false``) the job runs on this replica instead.
    """
    if engine is not None:
        return ScheduleRunNow(task_id=await anyio.to_thread.run_sync(engine.run_now, schedule_id))
    schedule = await anyio.to_thread.run_sync(store.get, schedule_id)
    spec = schedule.spec
    submission = TaskSubmission(
        task=spec.task.value,
        args=spec.args,
        kwargs=spec.kwargs,
        queue=spec.queue,
        priority=spec.priority,
    )
    task_id = await submit_task(
        celery, redis, submission, principal.subject, settings.result_expires_s
    )
    now = store.clock()
    run = Run(now, now, RunState.sent.value, task_id=task_id, detail="run now")
    await anyio.to_thread.run_sync(
        lambda: store.record(schedule_id, [run], started=[(task_id, now)])
    )
    return ScheduleRunNow(task_id=task_id)


@router.get("/{schedule_id}/runs", response_model=RunPage, responses=_READ)
def runs(
    schedule_id: str,
    _: ViewerDep,
    store: StoreDep,
    celery: CeleryDep,
    cursor: Annotated[str | None, Query(pattern=r"^\d+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RunPage:
    """Newest first; a sent run shows its task's state from the result backend."""
    offset = int(cursor or 0)
    records = store.runs(schedule_id, offset=offset, limit=limit)
    states = task_states(
        celery, [r.task_id for r in records if r.task_id and r.state == RunState.sent]
    )
    return RunPage(
        items=[RunOut.of(r, states.get(r.task_id or "")) for r in records],
        next_cursor=str(offset + limit) if len(records) == limit else None,
    )
