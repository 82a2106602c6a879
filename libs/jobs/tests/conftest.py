"""Fixtures for the job tests: a job context on the test's Redis."""

from __future__ import annotations

import pytest
import redis

from sdp_jobs.context import JobContext


@pytest.fixture
def ctx(redis_client: redis.Redis) -> JobContext:
    return JobContext(redis_client, payload_ttl_s=600, result_retention_s=3600, task_id="task-1")
