"""Writing and reading the beat heartbeat key (a TTL makes a dead beat's key vanish)."""

from __future__ import annotations

from typing import Any

import redis

from sdp_core import keys
from sdp_core.heartbeat import BeatHeartbeat

__all__ = ["read_heartbeat", "write_heartbeat"]


def write_heartbeat(client: redis.Redis, beat: BeatHeartbeat, ttl_s: int) -> None:
    client.set(keys.BEAT_HEARTBEAT, beat.to_json(), ex=ttl_s)


def read_heartbeat(client: redis.Redis) -> BeatHeartbeat | None:
    raw: Any = client.get(keys.BEAT_HEARTBEAT)
    return None if raw is None else BeatHeartbeat.from_json(raw)
