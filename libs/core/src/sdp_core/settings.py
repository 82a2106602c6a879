"""Settings every service shares; each service subclasses with its own env prefix.

Shared fields are read from unprefixed names (``REDIS_URL``…) so one `.env` serves every
service; a service's own fields carry its prefix (``SDP_API_PORT``…).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sdp_core import validation
from sdp_core.connections import validate_redis_url, validate_url

__all__ = ["CommaList", "CommonSettings", "Environment", "RedisUrl", "ServiceUrl", "load_settings"]

S = TypeVar("S", bound=BaseSettings)
T = TypeVar("T")


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# A list read from one environment variable as "a,b,c" rather than as JSON.
CommaList = Annotated[list[T], NoDecode, BeforeValidator(_split_commas)]
# redis://, rediss://, unix:// (normalised as pydantic's RedisDsn) or sentinel:// (checked).
RedisUrl = Annotated[str, AfterValidator(validate_redis_url)]
# Any URL Celery takes; a sentinel:// one checked as RedisUrl checks it.
ServiceUrl = Annotated[str, AfterValidator(validate_url)]


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid", validate_by_name=True, validate_by_alias=True, frozen=True
    )

    environment: Environment = Field(
        Environment.production,
        validation_alias="SDP_ENVIRONMENT",
        description="development relaxes the secret checks; anything else is strict.",
    )
    redis_url: RedisUrl = Field(
        "redis://localhost:6379/0",
        validation_alias="REDIS_URL",
        description="Redis for platform state (payloads, schedules, history); redis:// or "
        "sentinel://host1:26379,host2:26379/0?master_name=NAME.",
    )
    broker_url: ServiceUrl | None = Field(
        None, validation_alias="CELERY_BROKER_URL", description="Celery broker; REDIS_URL if unset."
    )
    result_backend: ServiceUrl | None = Field(
        None,
        validation_alias="CELERY_RESULT_BACKEND",
        description="Celery result backend; REDIS_URL if unset.",
    )
    result_expires_s: int = Field(
        86_400, ge=60, validation_alias="SDP_RESULT_EXPIRES_S", description="Result retention."
    )
    schedule_runs_kept: int = Field(
        100,
        ge=1,
        le=10_000,
        validation_alias="SDP_SCHEDULE_RUNS_KEPT",
        description="Run records kept per schedule (oldest dropped first).",
    )
    visibility_timeout_s: int = Field(
        3_600,
        ge=10,
        validation_alias="SDP_VISIBILITY_TIMEOUT_S",
        description="How long a dead worker's unacknowledged messages wait before they are "
        "delivered again; a live worker keeps its own (sdp_worker.keepalive).",
    )

    @property
    def broker(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def backend(self) -> str:
        return self.result_backend or self.redis_url


def _env_name(cls: type[BaseSettings], field: str) -> str:
    """The environment variable a field is read from, for error messages."""
    info = cls.model_fields.get(field)
    if info is None:
        return field  # already an alias such as REDIS_URL
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def load_settings(cls: type[S], **values: Any) -> S:
    """Read settings from the environment (`values` win), or exit 2 naming each bad variable
    (values hidden)."""
    try:
        return cls(**values)
    except ValidationError as exc:
        lines = [f"invalid configuration for {cls.__name__}:"]
        for err in exc.errors():
            head, *rest = [str(p) for p in err["loc"]] or ["settings"]
            where = ".".join([_env_name(cls, head), *rest])
            lines.append(f"  {where}: {validation.message(err)}")
        raise SystemExit("\n".join(lines)) from None
