"""The worker's Celery app: shared configuration plus the catalogue's tasks.

``celery -A sdp_worker.app …`` (``inspect ping``, ``status``…) finds the module's ``app``, built
from the environment's settings on first access, so importing the module reads no settings.
"""

from __future__ import annotations

from functools import cache, cached_property

import redis
from celery import Celery

from sdp_core.celery_config import make_celery
from sdp_core.settings import load_settings
from sdp_jobs.context import JobContext
from sdp_worker.settings import WorkerSettings
from sdp_worker.tasks import register_tasks

__all__ = ["WorkerRuntime", "create_app"]


class WorkerRuntime:
    """What tasks share within one worker process: a Redis pool, opened on first use."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @cached_property
    def redis(self) -> redis.Redis:
        # redis-py's pool notices a fork and reconnects, so one client serves every child.
        return redis.Redis.from_url(str(self.settings.redis_url))

    def context(self, task_id: str | None) -> JobContext:
        return JobContext(
            redis=self.redis,
            payload_ttl_s=self.settings.payload_ttl_s,
            result_retention_s=self.settings.result_expires_s,
            task_id=task_id,
        )


def create_app(settings: WorkerSettings) -> Celery:
    app = make_celery("sdp_worker", settings)
    app.conf.update(worker_pool_restarts=True)
    register_tasks(app, WorkerRuntime(settings).context)
    return app


@cache
def _from_environment() -> Celery:
    return create_app(load_settings(WorkerSettings))


def __getattr__(name: str) -> Celery:
    # The celery CLI looks for `app`, then `celery`.
    if name in ("app", "celery"):
        return _from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
