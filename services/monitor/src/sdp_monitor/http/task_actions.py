"""One task: its detail from the history (or the result backend), cancel and retry."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from functools import partial
from typing import Any

import anyio.to_thread
import redis.asyncio as aioredis
from celery import Celery, states

from sdp_core import revocations
from sdp_core.replies import optional_int
from sdp_http.errors import Conflict, NotFound
from sdp_monitor.cluster.control import Control
from sdp_monitor.history.store import HistoryStore
from sdp_monitor.http.schemas import CancelResult, RetryAccepted, TaskDetail, TaskSummary, epoch
from sdp_monitor.stream.live import queue_of

__all__ = ["cancel_task", "find_task", "retry_task", "summary_from_history"]

RETRYABLE = frozenset({states.FAILURE, states.REVOKED})


def _float(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


def _summary_fields(record: dict[str, str]) -> dict[str, Any]:
    get = record.get
    return {
        "name": get("name"),
        "state": get("state", states.PENDING),
        "worker": get("worker"),
        "queue": get("queue"),
        "retries": optional_int(get("retries")),
        "sent_at": epoch(get("sent_at")),
        "received_at": epoch(get("received_at")),
        "started_at": epoch(get("started_at")),
        "finished_at": epoch(get("finished_at")),
        "runtime": _float(get("runtime")),
    }


def summary_from_history(task_id: str, record: dict[str, str]) -> TaskSummary:
    """A history row as the task list shows it."""
    return TaskSummary(id=task_id, **_summary_fields(record))


def _from_history(task_id: str, record: dict[str, str]) -> TaskDetail:
    get = record.get
    return TaskDetail(
        id=task_id,
        **_summary_fields(record),
        args=get("args"),
        kwargs=get("kwargs"),
        result=get("result"),
        exception=get("exception"),
        traceback=get("traceback"),
        eta=get("eta"),
        expires=get("expires"),
        root_id=get("root_id"),
        parent_id=get("parent_id"),
        retry_of=get("retry_of"),
        retried_as=get("retried_as"),
        source="events",
    )


def _from_backend(task_id: str, meta: dict[str, Any], cap: int) -> TaskDetail:
    def text(value: Any) -> str | None:
        return None if value is None else repr(value)[:cap]

    state = str(meta["status"])
    result = meta.get("result")
    failed = state in states.EXCEPTION_STATES
    done = meta.get("date_done")
    return TaskDetail(
        id=task_id,
        name=meta.get("name"),
        state=state,
        worker=meta.get("worker"),
        queue=meta.get("queue"),
        retries=meta.get("retries"),
        finished_at=datetime.fromisoformat(done) if isinstance(done, str) else done,
        args=text(meta.get("args")),
        kwargs=text(meta.get("kwargs")),
        result=None if failed else text(result),
        exception=text(result) if failed else None,
        traceback=meta.get("traceback"),
        source="result_backend",
    )


async def _meta(celery: Celery, task_id: str) -> dict[str, Any]:
    meta: dict[str, Any] = await anyio.to_thread.run_sync(celery.backend.get_task_meta, task_id)
    return meta


async def find_task(
    history: HistoryStore, celery: Celery, task_id: str, text_cap: int
) -> TaskDetail:
    """From the history; else from the result backend once the history has dropped it; else 404.

    An unfinished task in the history is looked up in the backend too: the events that ended it
    are lost when they are sent while the monitor is not listening (a restart, a broken stream).
    """
    record = await history.get(task_id)
    if record is not None and record.get("state") in states.READY_STATES:
        return _from_history(task_id, record)
    meta = await _meta(celery, task_id)
    ended = meta.get("status") in states.READY_STATES
    if record is not None and not ended:
        return _from_history(task_id, record)
    if meta.get("status", states.PENDING) == states.PENDING:
        raise NotFound(f"no task with id {task_id}")
    backend = _from_backend(task_id, meta, text_cap)
    if record is None:
        return backend
    # What the events told (sent, received, started, queue) with how it ended.
    known = backend.model_dump(exclude_none=True)
    return _from_history(task_id, record).model_copy(update=known)


async def cancel_task(
    task: TaskDetail,
    redis: aioredis.Redis,
    control: Control,
    history: HistoryStore,
    *,
    terminate: bool,
    signal: str,
) -> CancelResult:
    """Store the revocation, which every worker asks before it runs a task, then revoke on the
    online workers (none may be) so a running task can be terminated."""
    await revocations.record(redis, task.id)
    workers = control.live.online()
    replies = (
        await control.call("revoke", workers, task_id=task.id, terminate=terminate, signal=signal)
        if workers
        else {}
    )
    if task.state in states.READY_STATES:
        state = task.state
    elif task.state == states.STARTED and not terminate:
        # Revoking does not stop a task that runs; it finishes unless terminated.
        state = task.state
    else:
        state = states.REVOKED
        # The worker's own revoked event, if it still gets one, refines both fields.
        fields = {"terminated": str(terminate), "finished_at": repr(time.time())}
        await history.mark(task.id, state, fields)
    return CancelResult(id=task.id, state=state, terminated=terminate, workers=sorted(replies))


async def retry_task(task: TaskDetail, celery: Celery, history: HistoryStore) -> RetryAccepted:
    """Send a failed or revoked task again, as a new task with its original arguments."""
    if task.state not in RETRYABLE:
        raise Conflict(f"task {task.id} is {task.state}; only FAILURE or REVOKED can be retried")
    meta = await _meta(celery, task.id)
    name = meta.get("name") or task.name
    args, kwargs = meta.get("args"), meta.get("kwargs")
    if name is None or args is None or kwargs is None:
        raise Conflict(f"the original arguments of task {task.id} are no longer kept")
    queue = meta.get("queue") or task.queue or queue_of(str(name))
    new_id = str(uuid.uuid4())
    await anyio.to_thread.run_sync(
        partial(celery.send_task, str(name), args=args, kwargs=kwargs, queue=queue, task_id=new_id)
    )
    await history.mark(new_id, states.PENDING, {"name": str(name), "retry_of": task.id})
    if task.source == "events":
        # What a bulk retry skips; a task the history dropped is not written back for it.
        await history.mark(task.id, None, {"retried_as": new_id})
    return RetryAccepted(id=new_id, retry_of=task.id)
