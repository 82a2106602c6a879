"""Typed dependencies the routers use; tests replace them through `dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from celery import Celery
from fastapi import Depends, Request

from sdp_api.settings import ApiSettings

__all__ = ["CeleryDep", "RedisDep", "SettingsDep"]


def get_redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


def get_celery(request: Request) -> Celery:
    app: Celery = request.app.state.celery
    return app


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]
CeleryDep = Annotated[Celery, Depends(get_celery)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
