"""Monitor service settings: env prefix SDP_MONITOR_ for its own fields."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from sdp_http.settings import HttpSettings

__all__ = ["MonitorSettings"]


class MonitorSettings(HttpSettings):
    model_config = SettingsConfigDict(env_prefix="SDP_MONITOR_")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(5502, ge=1, le=65535)
    log_level: str = "info"
    inspect_timeout_s: float = Field(
        1.0, gt=0, le=30, description="How long a control broadcast waits for worker replies."
    )
    flower_url: str | None = Field(None, description="Flower's public URL, if it runs.")
