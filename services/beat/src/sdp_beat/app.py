"""The beat's Celery app: shared configuration plus the static schedule."""

from __future__ import annotations

from celery import Celery

from sdp_beat.settings import BeatSettings
from sdp_core.celery_config import make_celery
from sdp_core.queues import TaskName

__all__ = ["create_app"]


def create_app(settings: BeatSettings) -> Celery:
    app = make_celery("sdp_beat", settings)
    app.conf.update(
        beat_max_loop_interval=settings.max_interval_s,
        beat_schedule={
            TaskName.system_cleanup.value: {
                "task": TaskName.system_cleanup.value,
                "schedule": float(settings.cleanup_every_s),
            }
        },
        sdp_redis_url=str(settings.redis_url),
        sdp_heartbeat_ttl_s=settings.heartbeat_ttl_s,
    )
    return app
