"""`/api/v1/celery/status`: workers, task counts, queue loads and beat at a glance."""

from __future__ import annotations

from fastapi import APIRouter

from sdp_http.auth import ViewerDep
from sdp_http.schemas import error_responses
from sdp_monitor.cluster.beat import read_beat
from sdp_monitor.http.deps import LiveDep, QueuesDep, RedisDep
from sdp_monitor.http.schemas import BeatStatus, CeleryStatus, QueueLoad

router = APIRouter(tags=["cluster"])


@router.get("/status", response_model=CeleryStatus, responses=error_responses(401, 403, 503))
async def status(_: ViewerDep, live: LiveDep, queues: QueuesDep, redis: RedisDep) -> CeleryStatus:
    """From the event stream's live state and one read of the broker; no broadcast."""
    online = live.online()
    counts = live.counts()
    pending = await queues.lengths()
    beat = await read_beat(redis)
    return CeleryStatus(
        workers_online=len(online),
        workers=online,
        tasks_active=counts.active,
        tasks_scheduled=counts.scheduled,
        tasks_reserved=counts.reserved,
        queues={
            q: QueueLoad(pending=n, processing=counts.processing[q]) for q, n in pending.items()
        },
        beat_running=beat is not None,
        beat=BeatStatus(
            node=beat.node,
            last_tick_age_s=beat.age_s(),
            schedules_active=beat.active,
            schedules_paused=beat.paused,
            schedules_set_aside=beat.set_aside,
        )
        if beat
        else None,
    )
