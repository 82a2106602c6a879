"""API service settings: env prefix SDP_API_ for its own fields."""

from __future__ import annotations

import socket

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from sdp_http.settings import HttpSettings

__all__ = ["ApiSettings"]


class ApiSettings(HttpSettings):
    model_config = SettingsConfigDict(env_prefix="SDP_API_")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(5500, ge=1, le=65535)
    log_level: str = Field("info")
    use_celery: bool = Field(
        True,
        validation_alias="USE_CELERY",
        description="true: beat fires schedules onto the queues; false: this service runs "
        "them in-process with APScheduler (one replica at a time).",
    )
    node_name: str = Field(
        default_factory=lambda: f"api@{socket.gethostname()}",
        min_length=1,
        pattern=r"^[^:\s]+$",
        description="This replica's name for the in-process engine's leader lock.",
    )
    engine_threads: int = Field(4, ge=1, le=64, description="In-process engine's thread pool.")
    engine_lock_ttl_s: float = Field(
        4.0, ge=1, le=10, description="In-process engine's leader lock TTL."
    )
    payload_ttl_s: int = Field(
        86_400, ge=60, description="Lifetime of payloads that in-process runs store."
    )
