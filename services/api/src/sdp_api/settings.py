"""API service settings: env prefix SDP_API_ for its own fields."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from sdp_http.settings import HttpSettings

__all__ = ["ApiSettings"]


class ApiSettings(HttpSettings):
    model_config = SettingsConfigDict(env_prefix="SDP_API_")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(5500, ge=1, le=65535)
    log_level: str = Field("info")
