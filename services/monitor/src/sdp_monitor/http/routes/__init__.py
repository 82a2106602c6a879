"""Every router of the monitor service under /api/v1/celery."""

from __future__ import annotations

from fastapi import APIRouter

from sdp_monitor.http.routes import (
    audit,
    events,
    flower,
    queues,
    series,
    status,
    tasks,
    triage,
    workers,
)

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1/celery")
for module in (status, series, workers, tasks, triage, queues, flower, audit, events):
    api_router.include_router(module.router)
