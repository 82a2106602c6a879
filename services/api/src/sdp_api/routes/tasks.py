"""`/api/v1/tasks`: submit a catalogue task, read its state."""

from __future__ import annotations

from fastapi import APIRouter, status

from sdp_api.deps import CeleryDep, RedisDep, SettingsDep
from sdp_api.schemas import TaskAccepted, TaskStatus, TaskSubmission
from sdp_api.submission import read_task, submit_task
from sdp_http.auth import OperatorDep, ViewerDep
from sdp_http.schemas import error_responses

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskAccepted,
    responses=error_responses(401, 403, 422, 503),
)
async def submit(
    body: TaskSubmission,
    principal: OperatorDep,
    celery: CeleryDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> TaskAccepted:
    task_id = await submit_task(celery, redis, body, principal.subject, settings.result_expires_s)
    return TaskAccepted(id=task_id)


@router.get("/{task_id}", response_model=TaskStatus, responses=error_responses(401, 403, 404, 503))
async def get(task_id: str, _: ViewerDep, celery: CeleryDep, redis: RedisDep) -> TaskStatus:
    return await read_task(celery, redis, task_id)
