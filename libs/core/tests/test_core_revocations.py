"""Revocations kept in Redis: they hold for TTL_S, and each write drops the lapsed ones."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from sdp_core import keys, revocations

T0 = 1_800_000_000_000
TTL_MS = revocations.TTL_S * 1000


def record(redis_url: str, task_id: str, now_ms: int) -> None:
    async def write() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            await revocations.record(client, task_id, now_ms)
        finally:
            await client.aclose()

    asyncio.run(write())


def test_a_revocation_holds_for_its_ttl_and_is_trimmed_after(
    redis_url: str, redis_client: redis.Redis
) -> None:
    record(redis_url, "old", T0)
    assert revocations.is_revoked(redis_client, "old", T0 + TTL_MS - 1)
    assert not revocations.is_revoked(redis_client, "old", T0 + TTL_MS)
    assert not revocations.is_revoked(redis_client, "never", T0)
    assert 0 < redis_client.pttl(keys.REVOKED) <= TTL_MS

    record(redis_url, "new", T0 + TTL_MS)
    assert redis_client.zscore(keys.REVOKED, "old") is None
    assert redis_client.zscore(keys.REVOKED, "new") == T0 + 2 * TTL_MS
    assert revocations.is_revoked(redis_client, "new", T0 + TTL_MS + 1)


def test_revoking_again_extends_it(redis_url: str, redis_client: redis.Redis) -> None:
    record(redis_url, "twice", T0)
    record(redis_url, "twice", T0 + 1_000)
    assert revocations.is_revoked(redis_client, "twice", T0 + TTL_MS + 500)
    assert redis_client.zcard(keys.REVOKED) == 1
