"""The worker's Celery app: shared configuration, the catalogue's tasks (which honour the
revocations stored in Redis) and the step that keeps the messages the worker holds alive.

``celery -A sdp_worker.app …`` (``inspect ping``, ``status``…) finds the module's ``app``, built
from the environment's settings on first access, so importing the module reads no settings.
"""

from __future__ import annotations

from functools import cache, cached_property

import redis
from celery import Celery

from sdp_core.celery_config import make_celery
from sdp_core.connections import sync_client
from sdp_core.settings import load_settings
from sdp_jobs.context import JobContext
from sdp_worker import keepalive
from sdp_worker.revocation import StoredRevocations, request_class
from sdp_worker.settings import WorkerSettings
from sdp_worker.tasks import register_tasks

__all__ = ["WorkerRuntime", "create_app"]

# The revocation check runs in the worker's main process before every task: a Redis that
# stopped answering must not hold the consumer up for long.
REVOCATION_TIMEOUT_S = 1.0


class WorkerRuntime:
    """What tasks share within one worker process: a Redis pool, opened on first use."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @cached_property
    def redis(self) -> redis.Redis:
        # redis-py's pool notices a fork and reconnects, so one client serves every child.
        return sync_client(self.settings.redis_url)

    @cached_property
    def revocations(self) -> StoredRevocations:
        client = sync_client(
            self.settings.redis_url,
            socket_timeout=REVOCATION_TIMEOUT_S,
            socket_connect_timeout=REVOCATION_TIMEOUT_S,
        )
        return StoredRevocations(client)

    def context(self, task_id: str | None) -> JobContext:
        return JobContext(
            redis=self.redis,
            payload_ttl_s=self.settings.payload_ttl_s,
            result_retention_s=self.settings.result_expires_s,
            task_id=task_id,
        )


def create_app(settings: WorkerSettings) -> Celery:
    app = make_celery("sdp_worker", settings)
    app.conf.update(
        worker_pool_restarts=True,
        worker_soft_shutdown_timeout=settings.soft_shutdown_timeout_s,
    )
    runtime = WorkerRuntime(settings)
    register_tasks(app, runtime.context, request_class(runtime.revocations))
    # A message is held for its countdown and its run: keep it from being handed out again.
    keepalive.install(app)
    return app


@cache
def _from_environment() -> Celery:
    return create_app(load_settings(WorkerSettings))


def __getattr__(name: str) -> Celery:
    # The celery CLI looks for `app`, then `celery`.
    if name in ("app", "celery"):
        return _from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
