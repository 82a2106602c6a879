"""What the workers report over the control API, and what Redis holds in the queues."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio.to_thread
import redis.asyncio as aioredis
from celery import Celery

from sdp_core import keys
from sdp_core.heartbeat import BeatHeartbeat
from sdp_core.queues import QUEUES

__all__ = ["WorkerReplies", "inspect_workers", "queue_lengths", "read_beat"]

Replies = dict[str, list[dict[str, Any]]]


@dataclass
class WorkerReplies:
    active: Replies = field(default_factory=dict)
    reserved: Replies = field(default_factory=dict)
    scheduled: Replies = field(default_factory=dict)

    @property
    def workers(self) -> list[str]:
        return sorted(set(self.active) | set(self.reserved) | set(self.scheduled))

    def processing_by_queue(self) -> Counter[str]:
        return Counter(
            str(task.get("delivery_info", {}).get("routing_key"))
            for tasks in self.active.values()
            for task in tasks
        )


def _broadcast(app: Celery, method: str, timeout_s: float) -> Replies:
    replies: Replies | None = getattr(app.control.inspect(timeout=timeout_s), method)()
    return replies or {}


async def inspect_workers(app: Celery, timeout_s: float) -> WorkerReplies:
    """active, reserved and scheduled at once, each bounded by `timeout_s`."""
    active, reserved, scheduled = await asyncio.gather(
        *(
            anyio.to_thread.run_sync(partial(_broadcast, app, method, timeout_s))
            for method in ("active", "reserved", "scheduled")
        )
    )
    return WorkerReplies(active=active, reserved=reserved, scheduled=scheduled)


async def queue_lengths(broker: aioredis.Redis) -> dict[str, int]:
    """Pending messages per configured queue, summed over priority steps, in one round trip."""
    async with broker.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            for key in keys.queue_keys(queue.value):
                pipe.llen(key)
        counts: list[int] = await pipe.execute()
    steps = len(keys.PRIORITY_STEPS)
    return {q.value: sum(counts[i * steps : (i + 1) * steps]) for i, q in enumerate(QUEUES)}


async def read_beat(client: aioredis.Redis) -> BeatHeartbeat | None:
    raw: bytes | str | None = await client.get(keys.BEAT_HEARTBEAT)
    return None if raw is None else BeatHeartbeat.from_json(raw)
