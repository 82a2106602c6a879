"""The monitor service: `create_app(settings)` with Redis pools and a Celery app in `lifespan`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI

from sdp_core.celery_config import make_celery
from sdp_http.service import configure
from sdp_monitor.routes import api_router
from sdp_monitor.settings import MonitorSettings

__all__ = ["create_app"]


def create_app(settings: MonitorSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = aioredis.Redis.from_url(str(settings.redis_url))
        # Queues live on the broker, which may be another Redis than the platform's.
        app.state.broker_redis = aioredis.Redis.from_url(settings.broker)
        app.state.celery = make_celery("sdp_monitor", settings)
        try:
            yield
        finally:
            app.state.celery.close()
            await app.state.broker_redis.aclose()
            await app.state.redis.aclose()

    app = FastAPI(
        title="SDP task services: monitor",
        version="0.1.0",
        description="The Celery cluster: workers, queues, tasks and their controls.",
        lifespan=lifespan,
    )
    configure(app, settings)
    app.include_router(api_router)
    return app
