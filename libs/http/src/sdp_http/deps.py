"""Dependencies both HTTP services resolve the same way from `app.state`.

Tests replace them through `dependency_overrides`.
"""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from celery import Celery
from fastapi import Depends, Request

__all__ = ["CeleryDep", "RedisDep", "get_celery", "get_redis"]


async def get_redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


async def get_celery(request: Request) -> Celery:
    app: Celery = request.app.state.celery
    return app


RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]
CeleryDep = Annotated[Celery, Depends(get_celery)]
