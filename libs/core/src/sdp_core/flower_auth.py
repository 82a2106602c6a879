"""Flower's basic auth as the platform requires it: set, and strong outside development.

Flower itself would start open to anyone; sdp_core.flower checks these settings at import.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, SecretStr, model_validator

from sdp_core.auth import weak_password_reason
from sdp_core.settings import CommonSettings, Environment

__all__ = ["FlowerSettings", "command_line_auth"]

_FLAGS = ("--basic-auth", "--basic_auth")


class FlowerSettings(CommonSettings):
    basic_auth: SecretStr | None = Field(
        None,
        validation_alias="FLOWER_BASIC_AUTH",
        description="user:password[,user:password]; required outside development.",
    )

    @model_validator(mode="after")
    def _credentials_are_strong(self) -> FlowerSettings:
        if self.environment is Environment.development:
            return self
        if self.basic_auth is None or not self.basic_auth.get_secret_value():
            raise ValueError("FLOWER_BASIC_AUTH is required outside development (user:password)")
        for pair in self.basic_auth.get_secret_value().split(","):
            user, sep, password = pair.partition(":")
            if not sep or not user.strip():
                raise ValueError("FLOWER_BASIC_AUTH must be user:password[,user:password]")
            reason = weak_password_reason(password)
            if reason:
                raise ValueError(
                    f"FLOWER_BASIC_AUTH's password for {user} is too weak: it {reason}"
                )
        return self


def command_line_auth(argv: Sequence[str]) -> str | None:
    """Flower's ``--basic-auth`` from its command line, which wins over FLOWER_BASIC_AUTH."""
    for i, arg in enumerate(argv):
        for flag in _FLAGS:
            if arg.startswith(f"{flag}="):
                return arg.partition("=")[2]
            if arg == flag and i + 1 < len(argv):
                return argv[i + 1]
    return None
