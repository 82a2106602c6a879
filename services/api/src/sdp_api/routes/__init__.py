"""Every router of the API service under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from sdp_api.routes import jobs, scheduler, schedules, tasks

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(schedules.router)
api_router.include_router(scheduler.router)
api_router.include_router(tasks.router)
api_router.include_router(jobs.router)
