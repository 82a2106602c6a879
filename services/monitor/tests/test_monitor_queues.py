"""Queues and their lengths straight from the broker."""

from __future__ import annotations

import asyncio

import pytest
import redis
from celery import Celery

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.connections import async_client
from sdp_core.settings import CommonSettings
from sdp_monitor.cluster.queues import QueueBook
from sdp_testing.redis_server import SentinelCluster


def listed(redis_url: str, app: Celery) -> tuple[list[str], dict[str, int]]:
    """The queues the monitor lists for this app's configuration, and their lengths."""

    async def read() -> tuple[list[str], dict[str, int]]:
        broker = async_client(redis_url)
        try:
            book = QueueBook.for_app(broker, app, discovery_s=60)
            names = await book.names()
            return names, await book.pending(names)
        finally:
            await broker.aclose()

    return asyncio.run(read())


def test_a_global_key_prefix_is_respected(redis_url: str) -> None:
    sender = make_celery("test-sender", CommonSettings(redis_url=redis_url))
    options = {**sender.conf.broker_transport_options, "global_keyprefix": "tenant-a:"}
    sender.conf.broker_transport_options = options
    for priority in (0, 4, 9):
        sender.send_task("etl.transform", queue="etl", priority=priority)
    sender.send_task("reports.build", queue="reports")

    names, pending = listed(redis_url, sender)
    sender.close()
    assert names == ["collect", "etl", "reports", "system"]
    assert pending == {"collect": 0, "etl": 3, "reports": 1, "system": 0}


@pytest.mark.slow
def test_queues_sent_through_sentinel_are_counted_through_it(
    redis_sentinel: SentinelCluster,
) -> None:
    url = redis_sentinel.url(db=2)
    sender = make_celery("test-sender", CommonSettings(redis_url=url))
    for priority in (0, 5, 9):
        sender.send_task("etl.transform", queue="etl", priority=priority)
    names, pending = listed(url, sender)
    sender.close()
    assert pending == {"collect": 0, "etl": 3, "system": 0}
    assert names == ["collect", "etl", "system"]


def test_queues_a_stock_client_declared_are_listed_by_name(redis_url: str) -> None:
    stock = Celery(broker=redis_url, set_as_current=False)
    for priority in (0, 5, 9):
        stock.send_task("reports.build", queue="reports", priority=priority)
    stock.close()
    # Written with another separator, by a process of an older version: no queue kombu reads.
    broker = redis.Redis.from_url(redis_url)
    broker.sadd(f"{keys.KOMBU_BINDING_PREFIX}legacy", "legacy::legacy")
    broker.close()

    platform = make_celery("test-monitor", CommonSettings(redis_url=redis_url))
    names, pending = listed(redis_url, platform)
    platform.close()
    assert names == ["collect", "etl", "reports", "system"]
    assert pending["reports"] == 3
