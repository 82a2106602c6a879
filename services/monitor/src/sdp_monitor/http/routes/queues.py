"""`/api/v1/celery/queues`: every queue's pending and processing counts; its next messages;
purge."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query

from sdp_http.auth import AdminDep, ViewerDep
from sdp_http.errors import NotFound
from sdp_http.schemas import error_responses
from sdp_monitor.cluster.task_message import TaskMessage, read_task_message
from sdp_monitor.http.deps import AuditDep, LiveDep, QueuesDep, SettingsDep
from sdp_monitor.http.schemas import (
    PurgeResult,
    QueueList,
    QueueMessageOut,
    QueueMessages,
    QueueOut,
)

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


# Queue peek.
@router.get(
    "/{queue}/messages",
    response_model=QueueMessages,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def peek(
    queue: str,
    _: ViewerDep,
    queues: QueuesDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Most messages to read.")] = 100,
) -> QueueMessages:
    """The messages a worker would take next, in that order; a long queue costs no more."""
    if not await queues.known(queue):
        raise NotFound(f"no queue named {queue}")
    peeked = await queues.peek(queue, limit)
    cap = settings.history_text_max_chars
    items = [_item(step, read_task_message(data, cap)) for step, data in peeked.messages]
    counts = Counter(item.task for item in items if item.task is not None)
    return QueueMessages(
        queue=queue,
        items=items,
        counts=dict(counts.most_common()),
        total=peeked.total,
        truncated=peeked.total > len(items),
    )


def _item(step: int, message: TaskMessage) -> QueueMessageOut:
    return QueueMessageOut(
        id=message.id,
        task=message.task,
        priority=step,
        eta=message.eta,
        expires=message.expires,
        args=message.args,
        kwargs=message.kwargs,
        size=message.size,
        error=message.error,
    )
