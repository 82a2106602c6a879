"""Typed dependencies of the API's routers; tests replace them through `dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sdp_api.inprocess import InProcessEngine
from sdp_api.settings import ApiSettings
from sdp_http.deps import CeleryDep, RedisDep
from sdp_schedules.store import ScheduleStore

__all__ = ["CeleryDep", "EngineDep", "RedisDep", "SettingsDep", "StoreDep"]


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


async def get_store(request: Request) -> ScheduleStore:
    store: ScheduleStore = request.app.state.store
    return store


StoreDep = Annotated[ScheduleStore, Depends(get_store)]


async def get_engine(request: Request) -> InProcessEngine | None:
    """The in-process engine, or None when beat fires schedules (``USE_CELERY=true``)."""
    engine: InProcessEngine | None = request.app.state.engine
    return engine


EngineDep = Annotated[InProcessEngine | None, Depends(get_engine)]
