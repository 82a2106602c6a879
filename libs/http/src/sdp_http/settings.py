"""Settings the HTTP services share on top of the common ones."""

from __future__ import annotations

from pydantic import Field

from sdp_core.auth import AuthSettings
from sdp_core.settings import CommaList

__all__ = ["HttpSettings"]


class HttpSettings(AuthSettings):
    cors_origins: CommaList[str] = Field(
        default_factory=list,
        validation_alias="SDP_CORS_ORIGINS",
        description="Comma-separated origins allowed by CORS (the dashboard's).",
    )
