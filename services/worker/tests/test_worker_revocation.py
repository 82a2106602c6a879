"""The stored revocations as the worker asks them; their effect on real runs is tested through
the monitor's cancel (services/monitor/tests/test_monitor_revocations.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis
import redis.asyncio as aioredis

from sdp_core import revocations
from sdp_testing.redis_server import free_port
from sdp_worker.revocation import StoredRevocations


def record(redis_url: str, task_id: str) -> None:
    async def cancel() -> None:
        client = aioredis.Redis.from_url(redis_url)
        await revocations.record(client, task_id)
        await client.aclose()

    asyncio.run(cancel())


def test_a_stored_revocation_is_found(redis_url: str, redis_client: redis.Redis) -> None:
    record(redis_url, "cancelled")
    stored = StoredRevocations(redis_client)
    assert stored("cancelled")
    assert not stored("other")


def dead_client() -> redis.Redis:
    return redis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1, socket_timeout=1
    )


def test_redis_down_falls_back_to_the_workers_own_and_logs_once(
    caplog: pytest.LogCaptureFixture, redis_client: redis.Redis
) -> None:
    stored = StoredRevocations(dead_client(), retry_after_s=0)
    with caplog.at_level(logging.INFO, logger="sdp_worker.revocation"):
        assert not stored("a")
        assert not stored("b")
        stored.client = redis_client  # Redis answers again
        assert not stored("a")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "reading the stored revocations failed",
        "reading the stored revocations works again",
    ]


def test_after_a_failure_redis_is_asked_again_only_after_a_while(
    redis_url: str, redis_client: redis.Redis
) -> None:
    record(redis_url, "cancelled")
    waiting = StoredRevocations(dead_client(), retry_after_s=3600)
    eager = StoredRevocations(dead_client(), retry_after_s=0)
    for stored in (waiting, eager):
        assert not stored("cancelled")
        stored.client = redis_client
    assert not waiting("cancelled")
    assert eager("cancelled")
