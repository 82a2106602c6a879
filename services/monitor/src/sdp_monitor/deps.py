"""Typed dependencies the routers use; tests replace them through `dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from celery import Celery
from fastapi import Depends, Request

from sdp_monitor.settings import MonitorSettings

__all__ = ["BrokerRedisDep", "CeleryDep", "RedisDep", "SettingsDep"]


def get_redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


def get_broker_redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.broker_redis
    return client


def get_celery(request: Request) -> Celery:
    app: Celery = request.app.state.celery
    return app


def get_settings(request: Request) -> MonitorSettings:
    settings: MonitorSettings = request.app.state.settings
    return settings


RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]
BrokerRedisDep = Annotated[aioredis.Redis, Depends(get_broker_redis)]
CeleryDep = Annotated[Celery, Depends(get_celery)]
SettingsDep = Annotated[MonitorSettings, Depends(get_settings)]
