"""Writing and reading beat heartbeat keys (a TTL makes a dead beat's key vanish)."""

from __future__ import annotations

from typing import Any

import redis

from sdp_core import keys
from sdp_core.heartbeat import BeatHeartbeat

__all__ = ["read_heartbeat", "write_heartbeat"]


def write_heartbeat(
    client: redis.Redis, beat: BeatHeartbeat, ttl_s: int, *, key: str = keys.BEAT_HEARTBEAT
) -> None:
    client.set(key, beat.to_json(), ex=ttl_s)


def read_heartbeat(client: redis.Redis, *, key: str = keys.BEAT_HEARTBEAT) -> BeatHeartbeat | None:
    raw: Any = client.get(key)
    return None if raw is None else BeatHeartbeat.from_json(raw)
