"""The API service: `create_app(settings)` with its Redis pool and Celery app in `lifespan`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
from fastapi import FastAPI

from sdp_api.inprocess import InProcessEngine
from sdp_api.routes import api_router
from sdp_api.schedule_errors import install_schedule_errors
from sdp_api.settings import ApiSettings
from sdp_core.celery_config import make_celery
from sdp_core.connections import async_client, sync_client
from sdp_http.service import configure
from sdp_jobs.context import JobContext
from sdp_schedules.changes import ScheduleChanges
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.leader import LeaderLock

__all__ = ["create_app"]


def start_engine(
    settings: ApiSettings, client: redis.Redis, firing: ScheduleFiring
) -> InProcessEngine:
    """The in-process engine (``USE_CELERY=false``), competing for the firing lock."""
    lock = LeaderLock(client, settings.node_name, int(settings.engine_lock_ttl_s * 1000))
    context = JobContext(
        redis=client,
        payload_ttl_s=settings.payload_ttl_s,
        result_retention_s=settings.result_expires_s,
    )
    changes = ScheduleChanges(client)
    engine = InProcessEngine(firing, changes, lock, context, threads=settings.engine_threads)
    engine.start()
    return engine


def create_app(settings: ApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = async_client(settings.redis_url)
        app.state.celery = make_celery("sdp_api", settings)
        # The schedule stores are synchronous; their routes run in the thread pool.
        store_client = sync_client(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        app.state.definitions = ScheduleDefinitions(store_client)
        app.state.firing = ScheduleFiring(store_client, runs_kept=settings.schedule_runs_kept)
        app.state.engine = (
            None if settings.use_celery else start_engine(settings, store_client, app.state.firing)
        )
        try:
            yield
        finally:
            if app.state.engine is not None:
                app.state.engine.stop()
            app.state.celery.close()
            store_client.close()
            await app.state.redis.aclose()

    app = FastAPI(
        title="SDP task services: API",
        version="0.1.0",
        description="Schedules (one Redis store, fired by beat) and catalogue tasks.",
        lifespan=lifespan,
    )
    configure(app, settings)
    install_schedule_errors(app)
    app.include_router(api_router)
    return app
