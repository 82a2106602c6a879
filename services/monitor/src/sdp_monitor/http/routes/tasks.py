"""`/api/v1/celery/tasks` and `/task/{id}`: history, detail, cancel and retry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from sdp_http.auth import OperatorDep, ViewerDep
from sdp_http.schemas import error_responses
from sdp_monitor.history.store import TaskFilter
from sdp_monitor.http.deps import AuditDep, CeleryDep, ControlDep, HistoryDep, RedisDep, SettingsDep
from sdp_monitor.http.schemas import (
    CancelRequest,
    CancelResult,
    RetryAccepted,
    TaskDetail,
    TaskPage,
    TaskState,
)
from sdp_monitor.http.task_actions import cancel_task, find_task, retry_task, summary_from_history

router = APIRouter(tags=["tasks"])


def _ms(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() * 1000)


@router.get("/tasks", response_model=TaskPage, responses=error_responses(401, 403, 422, 503))
async def list_tasks(
    *,
    _: ViewerDep,
    history: HistoryDep,
    state: TaskState | None = None,
    name: str | None = None,
    worker: str | None = None,
    queue: str | None = None,
    since: Annotated[datetime | None, Query(description="First seen at or after.")] = None,
    until: Annotated[datetime | None, Query(description="First seen at or before.")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TaskPage:
    """The history, newest first; every filter is an index, so a page costs the same at any size."""
    where = TaskFilter(
        state=state.value if state else None,
        name=name,
        worker=worker,
        queue=queue,
        since_ms=_ms(since),
        until_ms=_ms(until),
    )
    page = await history.page(where, cursor, limit)
    return TaskPage(
        items=[summary_from_history(task_id, row) for task_id, row in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/task/{task_id}", response_model=TaskDetail, responses=error_responses(401, 403, 404, 503)
)
async def get_task(
    task_id: str, _: ViewerDep, history: HistoryDep, celery: CeleryDep, settings: SettingsDep
) -> TaskDetail:
    return await find_task(history, celery, task_id, settings.history_text_max_chars)


@router.post(
    "/task/{task_id}/cancel",
    response_model=CancelResult,
    responses=error_responses(401, 403, 404, 422, 503, 504),
)
async def cancel(
    *,
    task_id: str,
    body: Annotated[CancelRequest | None, Body()] = None,
    principal: OperatorDep,
    history: HistoryDep,
    celery: CeleryDep,
    redis: RedisDep,
    control: ControlDep,
    audit: AuditDep,
    settings: SettingsDep,
) -> CancelResult:
    """Revoke the task, for good: a worker that takes it later drops it too. `terminate` also
    kills it if it runs. Answers its state after, and the online workers that acknowledged."""
    request = body or CancelRequest()
    async with audit.action(principal, "task.cancel", task_id) as outcome:
        task = await find_task(history, celery, task_id, settings.history_text_max_chars)
        result = await cancel_task(
            task, redis, control, history, terminate=request.terminate, signal=request.signal
        )
        outcome.detail = f"{result.state}; terminate={request.terminate} {request.signal}"
    return result


@router.post(
    "/task/{task_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RetryAccepted,
    responses=error_responses(401, 403, 404, 409, 503),
)
async def retry(
    *,
    task_id: str,
    principal: OperatorDep,
    history: HistoryDep,
    celery: CeleryDep,
    audit: AuditDep,
    settings: SettingsDep,
) -> RetryAccepted:
    """Send a failed or revoked task again with its original arguments, under a new id."""
    async with audit.action(principal, "task.retry", task_id) as outcome:
        task = await find_task(history, celery, task_id, settings.history_text_max_chars)
        accepted = await retry_task(task, celery, history)
        outcome.detail = f"sent as {accepted.id}"
    return accepted
