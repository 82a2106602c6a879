"""Every Redis key name the platform reads or writes, in one place.

Celery's own keys (queues, results) are listed too, because the monitor and the cleanup task
read them directly.
"""

from __future__ import annotations

__all__ = [
    "BEAT_HEARTBEAT",
    "CELERY_RESULT_MATCH",
    "CELERY_RESULT_PREFIX",
    "ETL_OUTPUT_MATCH",
    "ETL_OUTPUT_PREFIX",
    "PAYLOAD_MATCH",
    "PAYLOAD_PREFIX",
    "PREFIX",
    "PRIORITY_SEP",
    "PRIORITY_STEPS",
    "TASK_PREFIX",
    "celery_result",
    "etl_output",
    "payload",
    "queue_keys",
    "task_record",
]

PREFIX = "sdp"

PAYLOAD_PREFIX = f"{PREFIX}:payload:"
ETL_OUTPUT_PREFIX = f"{PREFIX}:etl:"
TASK_PREFIX = f"{PREFIX}:task:"
BEAT_HEARTBEAT = f"{PREFIX}:beat:heartbeat"

# SCAN patterns for the cleanup task; the prefixes hold no glob characters.
PAYLOAD_MATCH = f"{PAYLOAD_PREFIX}*"
ETL_OUTPUT_MATCH = f"{ETL_OUTPUT_PREFIX}*"

# Celery's Redis result backend stores each result under this prefix.
CELERY_RESULT_PREFIX = "celery-task-meta-"
CELERY_RESULT_MATCH = f"{CELERY_RESULT_PREFIX}*"

# kombu's Redis transport keeps one list per priority step: "<queue>" for step 0 and
# "<queue><sep><step>" for the others.
PRIORITY_STEPS: tuple[int, ...] = tuple(range(10))
PRIORITY_SEP = ":"


def payload(payload_id: str) -> str:
    """A collected response body (hash: body, content_type, url, status, fetched_at)."""
    return f"{PAYLOAD_PREFIX}{payload_id}"


def etl_output(output_id: str) -> str:
    """The rows an ETL transform produced, as a JSON string."""
    return f"{ETL_OUTPUT_PREFIX}{output_id}"


def task_record(task_id: str) -> str:
    """What the API knows of a task it submitted (hash: name, queue, submitted_at)."""
    return f"{TASK_PREFIX}{task_id}"


def celery_result(task_id: str) -> str:
    return f"{CELERY_RESULT_PREFIX}{task_id}"


def queue_keys(queue: str) -> list[str]:
    """The Redis lists that together hold a queue's pending messages."""
    return [queue if step == 0 else f"{queue}{PRIORITY_SEP}{step}" for step in PRIORITY_STEPS]
