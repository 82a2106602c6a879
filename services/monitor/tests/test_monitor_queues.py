"""Queue lengths straight from the broker, with kombu's global key prefix."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings
from sdp_monitor.queues import QueueBook


def test_a_global_key_prefix_is_respected(redis_url: str) -> None:
    sender = make_celery("test-sender", CommonSettings(redis_url=redis_url))
    options = {**sender.conf.broker_transport_options, "global_keyprefix": "tenant-a:"}
    sender.conf.broker_transport_options = options
    for priority in (0, 4, 9):
        sender.send_task("etl.transform", queue="etl", priority=priority)
    sender.send_task("reports.build", queue="reports")

    async def read() -> tuple[list[str], dict[str, int]]:
        broker = aioredis.Redis.from_url(redis_url)
        try:
            book = QueueBook.for_app(broker, sender, discovery_s=60)
            names = await book.names()
            return names, await book.pending(names)
        finally:
            await broker.aclose()

    names, pending = asyncio.run(read())
    sender.close()
    assert names == ["collect", "etl", "reports", "system"]
    assert pending == {"collect": 0, "etl": 3, "reports": 1, "system": 0}
