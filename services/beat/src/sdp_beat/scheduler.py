"""Celery's file-backed scheduler plus a heartbeat on every tick.

The Redis schedule store and its scheduler replace this with the beat issue; the heartbeat key
and the health command stay.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery.beat import PersistentScheduler

from sdp_beat.heartbeat import write_heartbeat
from sdp_core.heartbeat import BeatHeartbeat

__all__ = ["HeartbeatScheduler"]

log = logging.getLogger(__name__)


class HeartbeatScheduler(PersistentScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis = redis.Redis.from_url(self.app.conf.sdp_redis_url, socket_timeout=5)
        self._ttl_s = int(self.app.conf.sdp_heartbeat_ttl_s)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        delay: float = super().tick(*args, **kwargs)
        try:
            write_heartbeat(self._redis, BeatHeartbeat.now(), self._ttl_s)
        except redis.RedisError as exc:
            # A missed heartbeat only makes beat look down; the schedule itself carries on.
            log.warning("beat heartbeat not written: %s", exc)
        return delay

    def close(self) -> None:
        super().close()
        self._redis.close()
