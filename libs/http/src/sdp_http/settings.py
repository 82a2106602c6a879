"""Settings the HTTP services share on top of the common ones."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from sdp_core.auth import AuthSettings

__all__ = ["HttpSettings"]


class HttpSettings(AuthSettings):
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias="SDP_CORS_ORIGINS",
        description="Comma-separated origins allowed by CORS (the dashboard's).",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
