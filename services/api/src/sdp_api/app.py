"""The API service: `create_app(settings)` with its Redis pool and Celery app in `lifespan`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI

from sdp_api.routes import api_router
from sdp_api.settings import ApiSettings
from sdp_core.celery_config import make_celery
from sdp_http.service import configure

__all__ = ["create_app"]


def create_app(settings: ApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = aioredis.Redis.from_url(str(settings.redis_url))
        app.state.celery = make_celery("sdp_api", settings)
        try:
            yield
        finally:
            app.state.celery.close()
            await app.state.redis.aclose()

    app = FastAPI(
        title="SDP task services: API",
        version="0.1.0",
        description="Submit catalogue tasks and follow their results.",
        lifespan=lifespan,
    )
    configure(app, settings)
    app.include_router(api_router)
    return app
