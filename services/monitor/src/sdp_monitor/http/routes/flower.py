"""`/api/v1/celery/flower/url`: where Flower runs, if it does."""

from __future__ import annotations

from fastapi import APIRouter

from sdp_http.auth import ViewerDep
from sdp_http.schemas import error_responses
from sdp_monitor.http.deps import SettingsDep
from sdp_monitor.http.schemas import FlowerUrl

router = APIRouter(tags=["cluster"])


@router.get("/flower/url", response_model=FlowerUrl, responses=error_responses(401, 403))
async def flower_url(_: ViewerDep, settings: SettingsDep) -> FlowerUrl:
    return FlowerUrl(enabled=settings.flower_url is not None, url=settings.flower_url)
