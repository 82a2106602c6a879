"""The beat heartbeat's content, written by beat and read by the monitor.

Every replica writes its own node key; the leader also writes the platform-wide key, so the
monitor's ``beat_running`` means "some replica is firing schedules".
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from typing import Any

import redis

from sdp_core import keys

__all__ = ["BeatHeartbeat", "read_heartbeat", "write_heartbeat"]


@dataclass(frozen=True, slots=True)
class BeatHeartbeat:
    node: str
    last_tick: float
    leading: bool = True
    # Schedules waiting to fire, paused and finished ones, and those set aside because they
    # could not be fired, as the leader last counted them.
    active: int = 0
    paused: int = 0
    finished: int = 0
    set_aside: int = 0
    # How late the leader's latest send was after its slot was due, seconds; None if unknown.
    lag_s: float | None = None

    @classmethod
    def now(cls) -> BeatHeartbeat:
        return cls(node=f"{socket.gethostname()}:{os.getpid()}", last_tick=time.time())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> BeatHeartbeat:
        data = json.loads(raw)
        return cls(
            node=str(data["node"]),
            last_tick=float(data["last_tick"]),
            leading=bool(data.get("leading", True)),
            active=int(data.get("active", 0)),
            paused=int(data.get("paused", 0)),
            finished=int(data.get("finished", 0)),
            set_aside=int(data.get("set_aside", 0)),
            lag_s=None if data.get("lag_s") is None else float(data["lag_s"]),
        )

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.last_tick)


def write_heartbeat(
    client: redis.Redis, beat: BeatHeartbeat, ttl_s: int, *, key: str = keys.BEAT_HEARTBEAT
) -> None:
    """Store a heartbeat with a TTL, so a dead beat's key vanishes on its own."""
    client.set(key, beat.to_json(), ex=ttl_s)


def read_heartbeat(client: redis.Redis, *, key: str = keys.BEAT_HEARTBEAT) -> BeatHeartbeat | None:
    raw: Any = client.get(key)
    return None if raw is None else BeatHeartbeat.from_json(raw)
