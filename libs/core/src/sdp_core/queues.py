"""Queue and task names every service agrees on."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DEFAULT_PRIORITY", "QUEUES", "Queue", "TaskName", "queue_for"]


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


def queue_for(task_name: str) -> Queue:
    """The queue a task is routed to: the part of its name before the first dot."""
    head = task_name.split(".", 1)[0]
    try:
        return Queue(head)
    except ValueError:
        raise ValueError(f"no queue routes task {task_name!r}") from None
