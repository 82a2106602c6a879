"""Revocations kept in Redis, so that a task cancelled while it waits never runs.

Celery keeps revocations in each worker's memory only, for 3 h: a worker started after the
cancel, or one holding a countdown longer than that, would run the task. So the monitor's
cancel records the id in `keys.REVOKED` (ZSET id -> when the revocation lapses, epoch ms)
before it tells the online workers, and every worker asks it right before it runs a task
(`sdp_worker.revocation`). A cancel costs one transaction; a run one ZSCORE.
"""

from __future__ import annotations

import time

import redis
import redis.asyncio as aioredis

from sdp_core import keys

__all__ = ["TTL_S", "is_revoked", "record"]

# Longer than the longest countdown the API accepts (7 days), with a day to spare for a task
# that waits in its queue.
TTL_S = 8 * 86_400


def _now_ms() -> int:
    return int(time.time() * 1000)


async def record(client: aioredis.Redis, task_id: str, now_ms: int | None = None) -> None:
    """Keep the revocation for `TTL_S`, and drop the ones that have lapsed."""
    now = _now_ms() if now_ms is None else now_ms
    async with client.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(keys.REVOKED, "-inf", now)
        pipe.zadd(keys.REVOKED, {task_id: now + TTL_S * 1000})
        # The key outlives its newest member by nothing: with no cancel for TTL_S it is gone.
        pipe.pexpire(keys.REVOKED, TTL_S * 1000)
        await pipe.execute()


def is_revoked(client: redis.Redis, task_id: str, now_ms: int | None = None) -> bool:
    lapses = client.zscore(keys.REVOKED, task_id)
    return lapses is not None and lapses > (_now_ms() if now_ms is None else now_ms)
