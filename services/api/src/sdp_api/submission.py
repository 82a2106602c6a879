"""Submitting catalogue tasks and reading their state back."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import uuid4

import anyio.to_thread
import redis.asyncio as aioredis
from celery import Celery
from kombu.exceptions import OperationalError

from sdp_api.schemas import TaskStatus, TaskSubmission
from sdp_core import keys
from sdp_http.errors import NotFound, ServiceUnavailable, ValidationFailed
from sdp_jobs.catalogue import get_job
from sdp_jobs.errors import JobArgumentError

__all__ = ["read_task", "send_recorded", "submit_task"]


def _validate(task: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    """The task's own queue, once it and its arguments are known to fit the catalogue."""
    try:
        job = get_job(task)
        job.validate(args, kwargs)
    except JobArgumentError as exc:
        raise ValidationFailed(str(exc), exc.request_fields()) from None
    return job.queue.value


async def submit_task(
    celery: Celery,
    redis: aioredis.Redis,
    submission: TaskSubmission,
    submitted_by: str,
    retention_s: int,
) -> str:
    return await send_recorded(
        celery,
        redis,
        submission.task,
        submitted_by,
        retention_s,
        args=submission.args,
        kwargs=submission.kwargs,
        queue=None if submission.queue is None else submission.queue.value,
        priority=submission.priority,
        countdown=submission.countdown,
    )


async def send_recorded(
    celery: Celery,
    redis: aioredis.Redis,
    task: str,
    submitted_by: str,
    retention_s: int,
    **options: Any,
) -> str:
    """Send a catalogue task with Celery's ``send_task`` options; its new id.

    Its arguments are checked against the catalogue first (422 naming the field), a record
    says who sent it, and a broker that does not take it is a 503.
    """
    options.setdefault("args", [])
    options.setdefault("kwargs", {})
    own_queue = _validate(task, options["args"], options["kwargs"])
    queue = options["queue"] = options.get("queue") or own_queue
    task_id = str(uuid4())
    record_key = keys.task_record(task_id)
    # The record is what lets GET tell "unknown id" from "queued, not started yet".
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            record_key,
            mapping={
                "task": task,
                "queue": queue,
                "submitted_at": datetime.now(UTC).isoformat(),
                "submitted_by": submitted_by,
            },
        )
        pipe.expire(record_key, retention_s + int(options.get("countdown") or 0))
        await pipe.execute()
    send = partial(celery.send_task, task, task_id=task_id, **options)
    try:
        await anyio.to_thread.run_sync(send)
    except OperationalError as exc:
        await redis.delete(record_key)
        raise ServiceUnavailable(f"the broker did not take the task: {exc}") from None
    return task_id


def _error_text(result: Any) -> str | None:
    # Celery's backend rebuilds the exception when it can, else leaves the encoded dict.
    if isinstance(result, BaseException):
        return f"{type(result).__name__}: {result}"
    if isinstance(result, dict) and "exc_type" in result:
        message = result.get("exc_message")
        if isinstance(message, list | tuple):
            message = " ".join(str(m) for m in message)
        return f"{result['exc_type']}: {message}"
    return None


def _text(record: dict[Any, Any], field: str) -> str | None:
    value = record.get(field.encode())
    return value.decode() if value is not None else None


async def read_task(celery: Celery, redis: aioredis.Redis, task_id: str) -> TaskStatus:
    record: dict[Any, Any] = await redis.hgetall(keys.task_record(task_id))
    meta: dict[str, Any] = await anyio.to_thread.run_sync(celery.backend.get_task_meta, task_id)
    state = str(meta.get("status", "PENDING"))
    if not record and state == "PENDING":
        raise NotFound(f"no task with id {task_id}")
    failed = state in ("FAILURE", "RETRY", "REVOKED")
    result = meta.get("result")
    submitted = _text(record, "submitted_at")
    return TaskStatus(
        id=task_id,
        task=_text(record, "task") or meta.get("name"),
        queue=_text(record, "queue") or meta.get("queue"),
        state=state,
        submitted_at=datetime.fromisoformat(submitted) if submitted else None,
        finished_at=meta.get("date_done"),
        worker=meta.get("worker"),
        retries=meta.get("retries"),
        result=None if failed else result,
        error=_error_text(result) if failed else None,
        traceback=meta.get("traceback") if failed else None,
    )
