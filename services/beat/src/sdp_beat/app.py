"""The beat's Celery app: shared configuration plus the static schedule."""

from __future__ import annotations

from celery import Celery

from sdp_beat.settings import BeatSettings
from sdp_core.celery_config import make_celery
from sdp_core.queues import TaskName

__all__ = ["SCHEDULER", "create_app"]

SCHEDULER = "sdp_beat.scheduler:RedisBeatScheduler"


def create_app(settings: BeatSettings) -> Celery:
    app = make_celery("sdp_beat", settings)
    app.conf.update(
        beat_scheduler=SCHEDULER,
        beat_max_loop_interval=settings.lock_ttl_s,
        # Seeded into the schedule store as static entries; see sdp_beat.static.
        beat_schedule={
            TaskName.system_cleanup.value: {
                "task": TaskName.system_cleanup.value,
                "schedule": float(settings.cleanup_every_s),
            }
        },
        sdp_beat_settings=settings,
    )
    return app
