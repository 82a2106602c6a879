"""Reading many tasks' states from the result backend at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Celery, states
from celery.backends.base import BaseKeyValueStoreBackend

__all__ = ["task_states", "unfinished"]


def task_states(app: Celery, task_ids: Sequence[str]) -> dict[str, str]:
    """Each task's state; PENDING when the backend has nothing for it (yet, or any more)."""
    if not task_ids:
        return {}
    backend: Any = app.backend
    if isinstance(backend, BaseKeyValueStoreBackend):
        # One MGET instead of a round trip per task.
        raws = backend.mget([backend.get_key_for_task(task_id) for task_id in task_ids])
        return {
            task_id: states.PENDING if raw is None else str(backend.decode(raw)["status"])
            for task_id, raw in zip(task_ids, raws, strict=True)
        }
    return {task_id: str(backend.get_task_meta(task_id)["status"]) for task_id in task_ids}


def unfinished(app: Celery, task_ids: Sequence[str]) -> set[str]:
    """The tasks that have not reached a ready state (success, failure, revoked)."""
    return {
        task_id
        for task_id, state in task_states(app, task_ids).items()
        if state not in states.READY_STATES
    }
