"""The beat heartbeat's content, written by beat and read by the monitor."""

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

    @classmethod
    def now(cls) -> BeatHeartbeat:
        return cls(node=f"{socket.gethostname()}:{os.getpid()}", last_tick=time.time())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> BeatHeartbeat:
        data = json.loads(raw)
        return cls(node=str(data["node"]), last_tick=float(data["last_tick"]))

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.last_tick)
