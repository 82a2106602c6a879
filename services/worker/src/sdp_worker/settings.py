"""Worker service settings: env prefix SDP_WORKER_ for its own fields."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from sdp_core.celery_config import MAX_POOL_PROCESSES
from sdp_core.queues import QUEUES, Queue
from sdp_core.settings import CommaList, CommonSettings

__all__ = ["SHUTDOWN_MARGIN_S", "WorkerSettings"]

# What a stopping worker needs after its soft shutdown, before a SIGKILL may come: the hand-back
# of unfinished tasks and the broker connection's close. A container's grace period (compose's
# stop_grace_period, Kubernetes' terminationGracePeriodSeconds) exceeds the timeout by this.
SHUTDOWN_MARGIN_S = 15


class WorkerSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SDP_WORKER_")

    hostname: str = Field("worker@%h", description="Node name; %h is the host name.")
    queues: CommaList[Queue] = Field(
        default_factory=lambda: list(QUEUES), description="Comma-separated queues to consume."
    )
    concurrency: int = Field(2, ge=1, le=MAX_POOL_PROCESSES)
    pool: Literal["prefork", "threads", "solo"] = "prefork"
    log_level: str = "INFO"
    payload_ttl_s: int = Field(86_400, ge=60, description="How long collected payloads live.")
    health_timeout_s: float = Field(3.0, gt=0, description="How long the health ping waits.")
    soft_shutdown_timeout_s: float = Field(
        0.0,
        ge=0,
        description="Celery's soft shutdown: how long a cold shutdown (SIGQUIT, or SIGTERM with "
        "REMAP_SIGTERM=SIGQUIT) lets running tasks finish before it hands them back to their "
        "queue; 0 hands them back at once.",
    )
