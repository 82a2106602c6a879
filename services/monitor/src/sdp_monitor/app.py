"""The monitor service: `create_app(settings)`; Redis pools, the Celery app and the event
consumer opened and closed in `lifespan`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from sdp_core.celery_config import make_celery
from sdp_core.connections import async_client, sync_client
from sdp_http.service import configure
from sdp_monitor.cluster.beat import read_beat
from sdp_monitor.cluster.control import Control
from sdp_monitor.cluster.inspector import Inspector
from sdp_monitor.cluster.queues import QueueBook
from sdp_monitor.cluster.series import Sampler, SeriesRing
from sdp_monitor.history.store import HistoryStore
from sdp_monitor.history.writer import HistoryWriter
from sdp_monitor.http.audit import AuditLog
from sdp_monitor.http.routes import api_router
from sdp_monitor.metrics import ClusterSources, MonitorMetrics
from sdp_monitor.settings import MonitorSettings
from sdp_monitor.stream.consumer import EventConsumer
from sdp_monitor.stream.feed import ChangeFeed
from sdp_monitor.stream.live import LiveState
from sdp_monitor.stream.routing import EventRouter, TextCaps

__all__ = ["create_app"]

# The event thread's own Redis client must not hang on a Redis that stopped answering.
HISTORY_SOCKET_TIMEOUT_S = 5
# The longest series a request may ask for.
SERIES_S = 3_600


def create_app(settings: MonitorSettings) -> FastAPI:
    metrics = MonitorMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        state.redis = async_client(settings.redis_url)
        # Queues live on the broker, which may be another Redis than the platform's.
        state.broker_redis = async_client(settings.broker)
        state.celery = celery = make_celery("sdp_monitor", settings)
        state.live = live = LiveState(
            settings.offline_after_heartbeats,
            settings.worker_purge_after_s,
            settings.live_tasks_max,
        )
        state.feed = feed = ChangeFeed(asyncio.get_running_loop())
        state.control = Control(celery, live, settings.inspect_timeout_s)
        state.inspector = inspector = Inspector(celery, live, settings.inspect_timeout_s)
        state.audit = AuditLog(state.redis, settings.audit_max_entries)
        state.queues = QueueBook.for_app(
            state.broker_redis, celery, settings.queue_discovery_s, seen=live.queues_seen
        )
        metrics.read_from(
            ClusterSources(
                live=live,
                queue_lengths=state.queues.lengths,
                beat=partial(read_beat, state.redis),
                broker=state.broker_redis,
            )
        )
        step_s = settings.series_step_s
        state.series = series = SeriesRing(step_s, SERIES_S // step_s)
        history_client = sync_client(
            settings.redis_url,
            socket_timeout=HISTORY_SOCKET_TIMEOUT_S,
            socket_connect_timeout=HISTORY_SOCKET_TIMEOUT_S,
        )
        writer = HistoryWriter(
            history_client,
            settings.history_max_tasks,
            settings.history_max_age_s,
            hold_s=settings.history_hold_s,
        )
        # Task detail shows what the writer still holds, so it is never behind the events.
        state.history = HistoryStore(state.redis, held=writer.held)
        router = EventRouter(
            live,
            writer,
            feed=feed,
            metrics=metrics,
            series=series,
            caps=TextCaps(settings.history_text_max_chars, settings.history_traceback_max_chars),
            describe=lambda name: inspector.request([name]),
        )
        consumer = EventConsumer(
            celery,
            router,
            broker_url=settings.broker,
            flush_s=settings.history_flush_s,
            backoff_max_s=settings.events_backoff_max_s,
            # Events sent while the stream was down are lost: ask the workers what they hold.
            on_connect=live.forget_facts,
        )
        state.consumer = consumer
        consumer.start()
        state.sampler = sampler = Sampler(series, state.queues.lengths)
        sampler.start()
        try:
            yield
        finally:
            await sampler.stop()
            consumer.stop()
            inspector.close()
            history_client.close()
            celery.close()
            await state.broker_redis.aclose()
            await state.redis.aclose()

    app = FastAPI(
        title="SDP task services: monitor",
        version="0.1.0",
        description="The Celery cluster: workers, queues, tasks and their controls.",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    configure(app, settings, registry=metrics.registry, refresh=lambda _: metrics.refresh())
    app.include_router(api_router)
    return app
