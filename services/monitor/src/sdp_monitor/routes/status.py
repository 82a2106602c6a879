"""`/api/v1/celery/status`: workers, task counts, queue loads and beat at a glance."""

from __future__ import annotations

from fastapi import APIRouter

from sdp_http.auth import ViewerDep
from sdp_http.schemas import error_responses
from sdp_monitor.cluster import inspect_workers, queue_lengths, read_beat
from sdp_monitor.deps import BrokerRedisDep, CeleryDep, RedisDep, SettingsDep
from sdp_monitor.schemas import BeatStatus, CeleryStatus, QueueLoad

router = APIRouter(tags=["cluster"])


def _count(replies: dict[str, list[dict[str, object]]]) -> int:
    return sum(len(tasks) for tasks in replies.values())


@router.get("/status", response_model=CeleryStatus, responses=error_responses(401, 403, 503))
async def status(
    _: ViewerDep,
    celery: CeleryDep,
    redis: RedisDep,
    broker: BrokerRedisDep,
    settings: SettingsDep,
) -> CeleryStatus:
    replies = await inspect_workers(celery, settings.inspect_timeout_s)
    pending = await queue_lengths(broker)
    processing = replies.processing_by_queue()
    beat = await read_beat(redis)
    return CeleryStatus(
        workers_online=len(replies.workers),
        workers=replies.workers,
        tasks_active=_count(replies.active),
        tasks_scheduled=_count(replies.scheduled),
        tasks_reserved=_count(replies.reserved),
        queues={q: QueueLoad(pending=n, processing=processing[q]) for q, n in pending.items()},
        beat_running=beat is not None,
        beat=BeatStatus(
            node=beat.node,
            last_tick_age_s=beat.age_s(),
            schedules_active=beat.active,
            schedules_paused=beat.paused,
        )
        if beat
        else None,
    )
