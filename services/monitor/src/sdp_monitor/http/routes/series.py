"""`/api/v1/celery/series`: tasks finished per second and queue depths, step by step."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sdp_http.auth import ViewerDep
from sdp_http.schemas import error_responses
from sdp_monitor.http.deps import SeriesDep
from sdp_monitor.http.schemas import CelerySeries

router = APIRouter(tags=["cluster"])


@router.get("/series", response_model=CelerySeries, responses=error_responses(401, 403, 422, 503))
async def series(
    _: ViewerDep,
    ring: SeriesDep,
    minutes: Annotated[int, Query(ge=1, le=60, description="How far back, in minutes.")] = 15,
) -> CelerySeries:
    """From the monitor's memory: it counts since it started, and forgets after an hour."""
    found = ring.read(minutes * 60 // ring.step_s)
    return CelerySeries(
        step_s=found.step_s,
        t=found.starts,
        succeeded=found.succeeded,
        failed=found.failed,
        queues=found.queues,
    )
