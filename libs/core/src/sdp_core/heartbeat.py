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

__all__ = ["BeatHeartbeat"]


@dataclass(frozen=True, slots=True)
class BeatHeartbeat:
    node: str
    last_tick: float
    leading: bool = True
    # Schedules waiting to fire and paused ones, as the leader last counted them.
    active: int = 0
    paused: int = 0

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
        )

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.last_tick)
