"""Every router of the monitor service under /api/v1/celery."""

from __future__ import annotations

from fastapi import APIRouter

from sdp_monitor.routes import status

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1/celery")
api_router.include_router(status.router)
