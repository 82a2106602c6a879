"""Request and response models of the API service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from sdp_core.queues import Priority, Queue
from sdp_jobs.catalogue import Job, TaskPolicy

__all__ = ["JobList", "JobOut", "TaskAccepted", "TaskStatus", "TaskSubmission"]


class TaskSubmission(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"task": "collect.http", "kwargs": {"url": "https://example.org/orders.json"}},
                {"task": "system.sleep", "args": [2], "priority": 0, "countdown": 10},
            ]
        },
    )

    task: str = Field(description="A name from the job catalogue, e.g. `collect.http`.")
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    queue: Queue | None = Field(None, description="Defaults to the task's own queue.")
    countdown: StrictFloat | None = Field(
        None, ge=0, le=7 * 86_400, description="Seconds to wait first: 0 to 604,800 (7 days)."
    )
    priority: Priority | None = None


class TaskAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "0b5c6f0e-2d53-4c34-9d0c-8f7d1c1f2a10", "state": "PENDING"}]
        }
    )

    id: str
    state: str = "PENDING"


class TaskStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b5c6f0e-2d53-4c34-9d0c-8f7d1c1f2a10",
                    "task": "collect.http",
                    "queue": "collect",
                    "state": "SUCCESS",
                    "submitted_at": "2026-11-24T09:00:00Z",
                    "finished_at": "2026-11-24T09:00:00.412Z",
                    "worker": "celery@worker-1",
                    "retries": 0,
                    "result": {"payload_id": "5d2f", "status": 200, "bytes": 5120},
                    "error": None,
                    "traceback": None,
                }
            ]
        }
    )

    id: str
    task: str | None
    queue: str | None
    state: str = Field(description="PENDING, STARTED, RETRY, SUCCESS, FAILURE or REVOKED.")
    submitted_at: datetime | None = None
    finished_at: datetime | None = None
    worker: str | None = None
    retries: int | None = None
    result: Any = None
    error: str | None = Field(None, description="`ExceptionType: message` when it failed.")
    traceback: str | None = None


class JobOut(BaseModel):
    name: str = Field(description="What `task` names in a submission or a schedule.")
    queue: Queue = Field(description="The queue the job is routed to unless one is given.")
    description: str
    arguments: dict[str, Any] = Field(
        description=(
            "JSON Schema (2020-12) of the job's keyword arguments: the model submissions and "
            "schedules are validated with. Its `$ref`s point into its own `$defs`."
        )
    )
    policy: TaskPolicy

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            name=job.name.value,
            queue=job.queue,
            description=job.description,
            arguments=job.params.model_json_schema(),
            policy=job.policy,
        )


class JobList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "name": "system.sleep",
                            "queue": "system",
                            "description": "Sleep for a number of seconds; for time-limit, "
                            "revoke and load checks.",
                            "arguments": {
                                "additionalProperties": False,
                                "properties": {
                                    "seconds": {
                                        "description": "0 to 3,600.",
                                        "examples": [2.0],
                                        "maximum": 3600,
                                        "minimum": 0,
                                        "title": "Seconds",
                                        "type": "number",
                                    }
                                },
                                "required": ["seconds"],
                                "title": "SleepParams",
                                "type": "object",
                            },
                            "policy": {
                                "soft_time_limit_s": 3600,
                                "time_limit_s": 3660,
                                "max_retries": 0,
                                "retry_backoff_max_s": 600,
                            },
                        }
                    ]
                }
            ]
        }
    )

    items: list[JobOut] = Field(description="Every job of the catalogue, in name order.")
