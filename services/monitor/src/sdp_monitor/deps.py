"""Typed dependencies of the monitor's routers; tests override them via `dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request

from sdp_http.deps import CeleryDep, RedisDep
from sdp_monitor.settings import MonitorSettings

__all__ = ["BrokerRedisDep", "CeleryDep", "RedisDep", "SettingsDep"]


def get_broker_redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.broker_redis
    return client


def get_settings(request: Request) -> MonitorSettings:
    settings: MonitorSettings = request.app.state.settings
    return settings


BrokerRedisDep = Annotated[aioredis.Redis, Depends(get_broker_redis)]
SettingsDep = Annotated[MonitorSettings, Depends(get_settings)]
