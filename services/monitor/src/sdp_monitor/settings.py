"""Monitor service settings: env prefix SDP_MONITOR_ for its own fields."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from sdp_http.settings import HttpSettings

__all__ = ["MonitorSettings"]


class MonitorSettings(HttpSettings):
    model_config = SettingsConfigDict(env_prefix="SDP_MONITOR_")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(5502, ge=1, le=65535)
    log_level: str = "info"
    nice: int = Field(
        10,
        ge=0,
        le=19,
        description="CPU niceness to run at, so workers on the same host come first; 0 keeps it.",
    )
    inspect_timeout_s: float = Field(
        1.0,
        gt=0,
        le=30,
        description="Longest wait for workers to answer a control call; the silent ones are 504.",
    )
    flower_url: str | None = Field(None, description="Flower's public URL, if it runs.")
    offline_after_heartbeats: int = Field(
        3, ge=1, le=100, description="Missed heartbeats after which a worker counts as offline."
    )
    worker_purge_after_s: float = Field(
        900,
        ge=0,
        description="How long an offline worker stays in lists and metrics before it is dropped.",
    )
    history_max_tasks: int = Field(
        100_000, ge=100, description="Most tasks kept in the Redis history (oldest dropped first)."
    )
    history_max_age_s: int = Field(
        7 * 86_400, ge=60, description="Tasks first seen longer ago are dropped from the history."
    )
    history_flush_s: float = Field(
        0.1,
        gt=0,
        le=5,
        description="Longest time task events wait to be written to the history in one batch.",
    )
    history_hold_s: float = Field(
        10.0,
        ge=0,
        le=300,
        description=(
            "Longest time an unfinished task's changes wait before they are written to the "
            "history, so that a task finishing sooner is written once; 0 writes every flush."
        ),
    )
    history_text_max_chars: int = Field(
        2_048, ge=64, description="Cap on the args, kwargs, result and exception kept per task."
    )
    history_traceback_max_chars: int = Field(
        16_384, ge=256, description="Cap on the traceback kept per failed task."
    )
    live_tasks_max: int = Field(
        10_000,
        ge=100,
        description="Most unfinished tasks tracked in memory (reserved, running, just sent).",
    )
    events_backoff_max_s: float = Field(
        10,
        gt=0,
        le=300,
        description="Cap on the wait between reconnects of the event consumer.",
    )
    queue_discovery_s: float = Field(
        30,
        gt=0,
        description="How often the broker is scanned for queues that no worker consumes.",
    )
    audit_max_entries: int = Field(
        10_000, ge=100, description="Operator and admin actions kept in the audit stream."
    )
    sse_keepalive_s: float = Field(
        15, gt=0, le=300, description="Comment line sent on an idle event stream to keep it open."
    )
    series_step_s: int = Field(
        5,
        ge=1,
        le=60,
        description=(
            "Step of the throughput and queue depth series, in seconds; it divides a minute. "
            "The last hour of steps is kept in memory."
        ),
    )

    @field_validator("series_step_s")
    @classmethod
    def _divides_a_minute(cls, value: int) -> int:
        if 60 % value:
            raise ValueError("must divide 60")
        return value
