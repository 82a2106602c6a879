"""Queue and task names every service agrees on."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StrictInt

__all__ = ["DEFAULT_PRIORITY", "QUEUES", "Priority", "Queue", "TaskName", "queue_for"]


class Queue(StrEnum):
    collect = "collect"
    etl = "etl"
    system = "system"


QUEUES: tuple[Queue, ...] = tuple(Queue)


class TaskName(StrEnum):
    collect_http = "collect.http"
    etl_transform = "etl.transform"
    system_cleanup = "system.cleanup"
    system_noop = "system.noop"
    system_sleep = "system.sleep"


# kombu's Redis transport serves priority 0 first and 9 last; 5 leaves room either side.
DEFAULT_PRIORITY = 5
# What a sender may ask for; kombu maps it onto the queue's priority steps.
Priority = Annotated[
    StrictInt, Field(ge=0, le=9, description="0 to 9: 0 is served first, 9 last (default 5).")
]


def queue_for(task_name: str) -> Queue:
    """The queue a task is routed to: the part of its name before the first dot."""
    head = task_name.split(".", 1)[0]
    try:
        return Queue(head)
    except ValueError:
        raise ValueError(f"no queue routes task {task_name!r}") from None
