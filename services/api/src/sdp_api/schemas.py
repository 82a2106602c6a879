"""Request and response models of the API service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from sdp_core.queues import Priority, Queue

__all__ = ["TaskAccepted", "TaskStatus", "TaskSubmission"]


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
