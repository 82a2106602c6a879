"""Beat service settings: env prefix SDP_BEAT_ for its own fields."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from sdp_core.settings import CommonSettings

__all__ = ["BeatSettings"]


class BeatSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SDP_BEAT_")

    log_level: str = "INFO"
    cleanup_every_s: int = Field(3_600, ge=60, description="How often system.cleanup runs.")
    max_interval_s: int = Field(5, gt=0, le=60, description="Longest sleep between ticks.")
    heartbeat_ttl_s: int = Field(30, ge=5, description="How long a heartbeat stays valid.")
    schedule_file: Path = Field(
        Path("/tmp/sdp-beat-schedule"),  # noqa: S108 - celery's own state file, no secrets
        description="Where celery beat keeps the last run times of static entries.",
    )

    @model_validator(mode="after")
    def _heartbeat_outlives_tick(self) -> BeatSettings:
        if self.heartbeat_ttl_s <= self.max_interval_s:
            raise ValueError(
                "heartbeat_ttl_s must exceed max_interval_s or beat looks dead between ticks"
            )
        return self
