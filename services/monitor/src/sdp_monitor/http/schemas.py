"""Request and response models of the monitor service."""

from __future__ import annotations

import re
import signal
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from sdp_core import keys
from sdp_core.celery_config import MAX_POOL_PROCESSES

__all__ = [
    "AuditEntryOut",
    "AuditPage",
    "AuditResult",
    "AutoscaleRequest",
    "BeatStatus",
    "BulkRetryRequest",
    "BulkRetryResult",
    "CancelRequest",
    "CancelResult",
    "CelerySeries",
    "CeleryStatus",
    "ConsumerRequest",
    "ControlResponse",
    "ControlResult",
    "FailureGroup",
    "FailureList",
    "FailureSample",
    "FlowerUrl",
    "PoolResizeRequest",
    "PurgeResult",
    "QueueList",
    "QueueLoad",
    "QueueMessageOut",
    "QueueMessages",
    "QueueOut",
    "RetriedTask",
    "RetryAccepted",
    "SkippedTask",
    "TaskDetail",
    "TaskPage",
    "TaskState",
    "TaskSummary",
    "WorkerList",
    "WorkerOut",
    "WorkersRequest",
]


class TaskState(StrEnum):
    """Celery's task states as the event stream reports them (PENDING: sent, not received)."""

    PENDING = "PENDING"
    RECEIVED = "RECEIVED"
    STARTED = "STARTED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"
    REJECTED = "REJECTED"


def epoch(value: str | float | None) -> datetime | None:
    return None if value in (None, "") else datetime.fromtimestamp(float(value), UTC)


class QueueLoad(BaseModel):
    pending: int = Field(description="Messages waiting, all priority sub-queues summed.")
    processing: int = Field(description="Tasks from this queue running on a worker now.")


class QueueOut(QueueLoad):
    name: str
    consumers: list[str] = Field(description="Online workers consuming the queue.")


class QueueList(BaseModel):
    items: list[QueueOut]


class PurgeResult(BaseModel):
    queue: str
    purged: int = Field(description="Messages deleted.")


# Queue peek: GET /queues/{queue}/messages.
class QueueMessageOut(BaseModel):
    # Closed, so pydantic's mypy plugin leaves `kwargs` to the field.
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(description="The task's id; null if the message does not decode.")
    task: str | None = Field(description="The task's name.")
    priority: int = Field(description="The priority step it waits at: 0 is taken first, 9 last.")
    eta: datetime | None = Field(description="Not run before this time; null: at once.")
    expires: datetime | None = Field(description="Not run after this time; null: never expires.")
    args: str | None = Field(description="As the sender showed them, size-capped.")
    kwargs: str | None = Field(description="As the sender showed them, size-capped.")
    size: int = Field(description="Bytes of the message as the broker holds it.")
    error: str | None = Field(
        None, description="What could not be read of it; the other fields hold what could."
    )


class QueueMessages(BaseModel):
    queue: str
    items: list[QueueMessageOut] = Field(
        description="The waiting messages in the order workers take them: by priority step, "
        "0 first, the oldest first within a step."
    )
    counts: dict[str, int] = Field(description="Messages read, by task name.")
    total: int = Field(description="Messages waiting in the queue, all priority steps summed.")
    truncated: bool = Field(description="More messages wait than were read.")


class BeatStatus(BaseModel):
    node: str = Field(description="The beat replica that leads (fires schedules).")
    last_tick_age_s: float
    schedules_active: int = Field(description="Schedules waiting for their next slot.")
    schedules_paused: int
    schedules_set_aside: int = Field(
        description="Schedules beat could not fire and set aside (the API shows why)."
    )


class CeleryStatus(BaseModel):
    enabled: bool = True
    workers_online: int
    workers: list[str] = Field(description="Names of the online workers.")
    tasks_active: int = Field(description="Tasks running on online workers.")
    tasks_scheduled: int = Field(description="Tasks a worker holds until their ETA.")
    tasks_reserved: int = Field(description="Tasks a worker took and has not started yet.")
    queues: dict[str, QueueLoad]
    beat_running: bool
    beat: BeatStatus | None


class WorkerOut(BaseModel):
    name: str
    online: bool
    last_heartbeat: datetime
    pool: str | None = Field(description="prefork, threads, solo, …; null until inspected.")
    concurrency: int | None
    active: int = Field(description="Tasks running now.")
    processed: int = Field(description="Tasks run since the worker started.")
    utilisation: float | None = Field(description="active / concurrency, 0 to 1.")
    loadavg: list[float]
    queues: list[str] = Field(description="Queues the worker consumes.")
    software: str | None
    system: str | None
    pid: int | None


class WorkerList(BaseModel):
    items: list[WorkerOut]


class TaskSummary(BaseModel):
    id: str
    name: str | None = None
    state: str
    worker: str | None = None
    queue: str | None = None
    retries: int | None = None
    sent_at: datetime | None = None
    received_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    runtime: float | None = Field(None, description="Seconds the task ran.")


class TaskDetail(TaskSummary):
    # Closed, so pydantic's mypy plugin leaves `kwargs` to the field.
    model_config = ConfigDict(extra="forbid")

    args: str | None = Field(None, description="As the worker printed them, size-capped.")
    kwargs: str | None = None
    result: str | None = Field(None, description="As the worker printed it, size-capped.")
    exception: str | None = None
    traceback: str | None = None
    eta: str | None = None
    expires: str | None = None
    root_id: str | None = None
    parent_id: str | None = None
    retry_of: str | None = Field(None, description="The task this one retried, if any.")
    retried_as: str | None = Field(
        None, description="The task that last retried this one through the monitor, if any."
    )
    source: Literal["events", "result_backend"] = Field(
        description="The history kept from events, or the result backend when it has aged out."
    )


class TaskPage(BaseModel):
    items: list[TaskSummary]
    next_cursor: str | None


_SIGNALS = {s.name for s in signal.Signals}


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terminate: bool = Field(False, description="Also kill the task if it is running.")
    signal: str = Field("SIGTERM", description="Signal for `terminate`, e.g. SIGTERM or SIGKILL.")

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        name = value.upper() if value.upper().startswith("SIG") else f"SIG{value.upper()}"
        if name not in _SIGNALS:
            raise ValueError(f"unknown signal {value!r}")
        return name


class CancelResult(BaseModel):
    id: str
    state: str = Field(description="The task's state after the revoke.")
    terminated: bool
    workers: list[str] = Field(
        description="Online workers that acknowledged the revoke; none may be online, since "
        "every worker checks the stored revocation before it runs a task."
    )


class RetryAccepted(BaseModel):
    id: str = Field(description="The new task's id.")
    state: str = "PENDING"
    retry_of: str


# Failure triage: failures by group, and the bulk retry of a group.


class FailureSample(BaseModel):
    id: str = Field(description="The group's latest task in the window.")
    message: str | None = Field(
        description="Its exception as the worker reported it (the repr, size-capped)."
    )


class FailureGroup(BaseModel):
    task: str | None = Field(description="Task name; null if the monitor never heard it.")
    exception_type: str = Field(
        description="The exception's class, read from its repr; `unknown` if it has none."
    )
    count: int = Field(description="Tasks of the group that failed in the window.")
    first_seen: datetime = Field(description="When the first of them failed.")
    last_seen: datetime = Field(description="When the last of them failed.")
    sample: FailureSample


class FailureList(BaseModel):
    items: list[FailureGroup] = Field(description="Most failures first, then the latest.")


class BulkRetryRequest(BaseModel):
    """The tasks to send again: those of one state that ended in the window, perhaps of one
    task name and exception type."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"task": "collect.http", "exception_type": "JobError", "dry_run": True}]
        },
    )

    # Before `exception_type`, whose check reads it.
    state: Literal["FAILURE", "REVOKED"] = "FAILURE"
    task: str | None = Field(None, min_length=1, description="Exactly this task name.")
    exception_type: str | None = Field(
        None,
        min_length=1,
        description="Exactly this exception class, as `GET /failures` names it; failures only.",
    )
    since: datetime | None = Field(
        None, description="Ended then or later: ISO 8601 (UTC unless it says so) or epoch s."
    )
    until: datetime | None = Field(None, description="Ended then or before.")
    dry_run: bool = Field(False, description="Only tell what would be sent again.")

    @field_validator("exception_type")
    @classmethod
    def _failures_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("state") == "REVOKED":
            raise ValueError("only failures have one; leave it out for REVOKED")
        return value


class RetriedTask(BaseModel):
    id: str
    new_id: str = Field(description="The id it was sent again under.")


class SkippedTask(BaseModel):
    id: str
    reason: str


class BulkRetryResult(BaseModel):
    matched: int = Field(description="Tasks the filter matches, retried before or not.")
    dry_run: bool
    ids: list[str] = Field(
        description="The tasks chosen to send again, the earliest ended first: at most 1,000, "
        "none retried through the monitor before."
    )
    retried: list[RetriedTask] = Field(description="Sent again; empty in a dry run.")
    skipped: list[SkippedTask] = Field(
        description="Not sent: retried before (among the matches read), or no longer "
        "retryable (its arguments gone, its state changed)."
    )


class WorkersRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workers: list[str] | None = Field(
        None, description="Worker names; every online worker when absent or empty."
    )


class AutoscaleRequest(WorkersRequest):
    max: int = Field(ge=1, le=MAX_POOL_PROCESSES, description="Most processes the pool runs.")
    min: int = Field(0, ge=0, le=MAX_POOL_PROCESSES, description="Fewest; not above `max`.")

    @field_validator("min")
    @classmethod
    def _min_not_above_max(cls, value: int, info: ValidationInfo) -> int:
        # A field validator, so the error names `min`; `max` is declared first.
        if "max" in info.data and value > info.data["max"]:
            raise ValueError("must not exceed max")
        return value


class PoolResizeRequest(WorkersRequest):
    n: int = Field(
        1,
        ge=1,
        le=MAX_POOL_PROCESSES - 1,
        description=f"Processes to add or remove; a pool keeps 1 to {MAX_POOL_PROCESSES}.",
    )


QUEUE_NAME_MAX_CHARS = 100
# The separator of a queue's priority lists (keys.PRIORITY_SEP) is outside these characters,
# so a name can never be another queue's priority list.
_QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
# A queue is a Redis list of the same name on the broker, beside what kombu, Celery and the
# platform keep there: the event and control exchanges and the Redis transport's own keys;
_RESERVED_NAMES = frozenset(
    {
        "celeryev",
        "celery.pidbox",
        "reply.celery.pidbox",
        keys.KOMBU_UNACKED,
        keys.KOMBU_UNACKED_INDEX,
        keys.KOMBU_UNACKED_MUTEX,
    }
)
# event receivers' queues, the platform's keys and Celery's results;
_RESERVED_PREFIXES = ("celeryev.", f"{keys.PREFIX}:", keys.CELERY_RESULT_PREFIX)
# and each worker's control queue.
_RESERVED_SUFFIXES = (".celery.pidbox",)


def _queue_name(value: str) -> str:
    if not _QUEUE_NAME.fullmatch(value):
        raise ValueError("letters, digits and . _ : - only, starting with a letter or digit")
    if (
        value in _RESERVED_NAMES
        or value.startswith(_RESERVED_PREFIXES)
        or value.endswith(_RESERVED_SUFFIXES)
    ):
        raise ValueError(f"{value!r} is reserved for what kombu, Celery or the platform keep")
    return value


class ConsumerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["add", "cancel"]
    queue: str = Field(
        min_length=1,
        max_length=QUEUE_NAME_MAX_CHARS,
        description="Letters, digits and `._:-`, starting with a letter or digit; not a name "
        "kombu or Celery keep for themselves (`celeryev`, `*.celery.pidbox`, …).",
    )

    @field_validator("queue")
    @classmethod
    def _valid_queue(cls, value: str) -> str:
        return _queue_name(value)


class ControlResult(BaseModel):
    worker: str
    ok: bool = Field(description="The worker did all that was asked.")
    message: str = Field(description="What the worker said, or what happened.")
    processes_before: int | None = Field(
        None, description="Pool processes before a grow or shrink, from a fresh `stats`."
    )
    processes_after: int | None = Field(
        None, description="Pool processes after a grow or shrink, from a fresh `stats`."
    )


class ControlResponse(BaseModel):
    action: str
    results: list[ControlResult]


class FlowerUrl(BaseModel):
    enabled: bool
    url: str | None


class AuditResult(StrEnum):
    """What an audited action came to: its outcome, or the error code it was refused with."""

    ok = "ok"
    partial = "partial"
    failed = "failed"
    # The request was cancelled mid-action; an exception no error code names.
    interrupted = "interrupted"
    error = "error"
    internal_error = "internal_error"
    malformed_body = "malformed_body"
    payload_too_large = "payload_too_large"
    unauthorized = "unauthorized"
    forbidden = "forbidden"
    not_found = "not_found"
    conflict = "conflict"
    unsupported_media_type = "unsupported_media_type"
    validation_error = "validation_error"
    unavailable = "unavailable"
    timeout = "timeout"


class AuditEntryOut(BaseModel):
    id: str
    at: datetime
    subject: str
    role: str
    action: str
    target: str
    result: str = Field(
        description="`ok`; `partial` or `failed` when some or every worker addressed did not do "
        "it (the detail says which); or the error code the request was refused with."
    )
    detail: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


class CelerySeries(BaseModel):
    """Throughput and queue depths of the last minutes, one value per step in every array."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "step_s": 5,
                    "t": [1764770400, 1764770405, 1764770410, 1764770415],
                    "succeeded": [3.2, 4.0, 0.0, 1.4],
                    "failed": [0.0, 0.2, 0.0, 0.0],
                    "queues": {
                        "collect": [12, 4, None, 0],
                        "etl": [0, 0, None, 2],
                        "system": [0, 0, None, 0],
                    },
                }
            ]
        }
    )

    step_s: int = Field(description="Seconds per step.")
    t: list[int] = Field(
        description="Each step's start, epoch seconds, oldest first; the last is the latest "
        "complete step."
    )
    succeeded: list[float] = Field(description="Tasks that succeeded, per second of the step.")
    failed: list[float] = Field(description="Tasks that failed, per second of the step.")
    queues: dict[str, list[int | None]] = Field(
        description="Messages waiting per queue as sampled in each step; null where no sample "
        "was taken (the monitor was not running, or the broker did not answer) or the queue "
        "was not known yet."
    )
