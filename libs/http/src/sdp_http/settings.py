"""Settings the HTTP services share on top of the common ones."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from sdp_core.auth import AuthSettings
from sdp_core.settings import CommaList

__all__ = ["MAX_BODY_BYTES", "HttpSettings"]

# A task's kwargs or a schedule fit in a few kilobytes; a mebibyte leaves room for payloads.
MAX_BODY_BYTES = 1_048_576

# What a browser sends as Origin: a scheme, a host and maybe a port; no path, no wildcard.
_ORIGIN = re.compile(r"^https?://[^/\s*?#]+$")


class HttpSettings(AuthSettings):
    cors_origins: CommaList[str] = Field(
        default_factory=list,
        validation_alias="SDP_CORS_ORIGINS",
        description="Comma-separated origins allowed by CORS (the dashboard's).",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins_only(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: give scheme://host[:port] without a path "
                    "(no trailing slash) for each dashboard; * is not allowed"
                )
        return origins

    # No alias: each service reads it under its own prefix (SDP_API_, SDP_MONITOR_).
    max_body_bytes: int = Field(
        MAX_BODY_BYTES,
        ge=1,
        description="Largest request body read; a larger one is a 413 before any of it is parsed.",
    )
