"""The beat leader's heartbeat, as the monitor reads it."""

from __future__ import annotations

import redis.asyncio as aioredis

from sdp_core import keys
from sdp_core.heartbeat import BeatHeartbeat

__all__ = ["read_beat"]


async def read_beat(client: aioredis.Redis) -> BeatHeartbeat | None:
    raw: bytes | str | None = await client.get(keys.BEAT_HEARTBEAT)
    return None if raw is None else BeatHeartbeat.from_json(raw)
