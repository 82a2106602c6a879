"""Response models of the monitor service."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["BeatStatus", "CeleryStatus", "QueueLoad"]


class QueueLoad(BaseModel):
    pending: int = Field(description="Messages waiting, all priority sub-queues summed.")
    processing: int = Field(description="Tasks from this queue running on a worker now.")


class BeatStatus(BaseModel):
    node: str = Field(description="The beat replica that leads (fires schedules).")
    last_tick_age_s: float
    schedules_active: int = Field(description="Schedules waiting for their next slot.")
    schedules_paused: int


class CeleryStatus(BaseModel):
    enabled: bool = True
    workers_online: int
    workers: list[str]
    tasks_active: int
    tasks_scheduled: int
    tasks_reserved: int
    queues: dict[str, QueueLoad]
    beat_running: bool
    beat: BeatStatus | None
