"""The job catalogue registered as Celery tasks, each under its own policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery, Task
from celery.worker.request import Request

from sdp_jobs.catalogue import CATALOGUE, Job
from sdp_jobs.context import JobContext
from sdp_jobs.errors import TransientJobError

__all__ = ["register_tasks"]

ContextFactory = Callable[[str | None], JobContext]


def _register(app: Celery, job: Job, context: ContextFactory, request: type[Request]) -> None:
    policy = job.policy

    def run(self: Task[Any, Any], *args: Any, **kwargs: Any) -> Any:
        return job.func(context(self.request.id), job.validate(args, kwargs))

    run.__doc__ = job.description
    app.task(
        name=job.name.value,
        bind=True,
        # Not shared: every app built in one process gets exactly its own tasks.
        shared=False,
        queue=job.queue.value,
        soft_time_limit=policy.soft_time_limit_s,
        time_limit=policy.time_limit_s,
        autoretry_for=(TransientJobError,),
        max_retries=policy.max_retries,
        retry_backoff=True,
        retry_backoff_max=policy.retry_backoff_max_s,
        retry_jitter=True,
        Request=request,
    )(run)


def register_tasks(app: Celery, context: ContextFactory, request: type[Request]) -> None:
    """Every catalogue job as a task; `request` is the class of their requests in a worker."""
    for job in CATALOGUE.values():
        _register(app, job, context, request)
