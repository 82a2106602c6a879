"""What a job may use besides its arguments, handed in by whoever runs it."""

from __future__ import annotations

from dataclasses import dataclass

import redis

__all__ = ["JobContext"]


@dataclass(frozen=True, slots=True)
class JobContext:
    redis: redis.Redis
    payload_ttl_s: int = 86_400
    result_retention_s: int = 86_400
    task_id: str | None = None
