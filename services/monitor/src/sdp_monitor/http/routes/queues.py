"""`/api/v1/celery/queues`: every queue's pending and processing counts; purge."""

from __future__ import annotations

from fastapi import APIRouter

from sdp_http.auth import AdminDep, ViewerDep
from sdp_http.errors import NotFound
from sdp_http.schemas import error_responses
from sdp_monitor.http.deps import AuditDep, LiveDep, QueuesDep
from sdp_monitor.http.schemas import PurgeResult, QueueList, QueueOut

router = APIRouter(prefix="/queues", tags=["queues"])


@router.get("", response_model=QueueList, responses=error_responses(401, 403, 503))
async def list_queues(_: ViewerDep, live: LiveDep, queues: QueuesDep) -> QueueList:
    """Configured queues, queues declared in the broker and queues tasks were sent to."""
    pending = await queues.lengths()
    processing = live.counts().processing
    consumers = live.queues_consumed()
    return QueueList(
        items=[
            QueueOut(
                name=name,
                pending=count,
                processing=processing[name],
                consumers=consumers.get(name, []),
            )
            for name, count in pending.items()
        ]
    )


@router.post(
    "/{queue}/purge", response_model=PurgeResult, responses=error_responses(401, 403, 404, 503)
)
async def purge(queue: str, principal: AdminDep, queues: QueuesDep, audit: AuditDep) -> PurgeResult:
    """Delete every message waiting in the queue, at every priority."""
    async with audit.action(principal, "queue.purge", queue) as outcome:
        if not await queues.known(queue):
            raise NotFound(f"no queue named {queue}")
        purged = await queues.purge(queue)
        outcome.detail = f"{purged} messages deleted"
    return PurgeResult(queue=queue, purged=purged)
