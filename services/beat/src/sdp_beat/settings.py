"""Beat service settings: env prefix SDP_BEAT_ for its own fields."""

from __future__ import annotations

import socket

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from sdp_core.settings import CommonSettings

__all__ = ["BeatSettings"]


def _default_node() -> str:
    return f"beat@{socket.gethostname()}"


class BeatSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SDP_BEAT_")

    log_level: str = "INFO"
    node_name: str = Field(
        default_factory=_default_node,
        min_length=1,
        pattern=r"^[^:\s]+$",
        description="This replica's name; a restart under the same name takes its lock back "
        "at once. Give replicas on one host different names.",
    )
    cleanup_every_s: int = Field(3_600, ge=60, description="How often system.cleanup runs.")
    lock_ttl_s: float = Field(
        4.0, ge=1, le=10, description="Leader lock TTL: a dead leader is replaced within this."
    )
    standby_poll_s: float = Field(
        0.25, gt=0, le=5, description="How often a standby replica tries to take the lock."
    )
    resync_s: float = Field(
        60.0, ge=1, description="Full re-sync: cached definitions dropped, changes re-subscribed."
    )
    batch_size: int = Field(500, ge=1, le=10_000, description="Due entries read per round trip.")
    catchup_limit: int = Field(
        100, ge=1, description="Most slots one schedule sends in one tick when catching up."
    )
    heartbeat_ttl_s: int = Field(30, ge=5, description="How long a heartbeat stays valid.")

    @model_validator(mode="after")
    def _heartbeat_outlives_lock(self) -> BeatSettings:
        if self.heartbeat_ttl_s <= self.lock_ttl_s:
            raise ValueError(
                "heartbeat_ttl_s must exceed lock_ttl_s or beat looks dead between ticks"
            )
        return self
