"""Typed dependencies of the API's routers; tests replace them through `dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sdp_api.inprocess import InProcessEngine
from sdp_api.settings import ApiSettings
from sdp_http.deps import CeleryDep, RedisDep
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring

__all__ = [
    "CeleryDep",
    "DefinitionsDep",
    "EngineDep",
    "FiringDep",
    "RedisDep",
    "SettingsDep",
]


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


async def get_definitions(request: Request) -> ScheduleDefinitions:
    definitions: ScheduleDefinitions = request.app.state.definitions
    return definitions


DefinitionsDep = Annotated[ScheduleDefinitions, Depends(get_definitions)]


async def get_firing(request: Request) -> ScheduleFiring:
    """The firing protocol's store: run records, which the API writes for a run now too."""
    firing: ScheduleFiring = request.app.state.firing
    return firing


FiringDep = Annotated[ScheduleFiring, Depends(get_firing)]


async def get_engine(request: Request) -> InProcessEngine | None:
    """The in-process engine, or None when beat fires schedules (``USE_CELERY=true``)."""
    engine: InProcessEngine | None = request.app.state.engine
    return engine


EngineDep = Annotated[InProcessEngine | None, Depends(get_engine)]
