"""What sdp_worker.keepalive relies on in kombu, checked on a real channel and real Redis.

These fail when a kombu upgrade moves the private QoS state or the unacked index.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import VersionMismatch
from kombu.message import Message
from kombu.transport import redis as kombu_redis

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.connections import sync_client
from sdp_core.settings import CommonSettings
from sdp_testing.processes import wait_until
from sdp_testing.redis_server import SentinelCluster
from sdp_worker.keepalive import KeepHeldMessages, MessageKeeper, held_tags, require_supported_kombu


def test_only_the_kombu_it_was_checked_against_is_accepted() -> None:
    require_supported_kombu()
    for other in ("5.8.0", "6.0.1", "5.6.2"):
        with pytest.raises(VersionMismatch, match=other):
            require_supported_kombu(other)


@pytest.fixture(params=["", "tenant-a:"], ids=["no-prefix", "global-keyprefix"])
def options(request: pytest.FixtureRequest, redis_url: str) -> dict[str, Any]:
    conf = make_celery("test-keepalive", CommonSettings(redis_url=redis_url)).conf
    found: dict[str, Any] = {**conf.broker_transport_options}
    if request.param:
        found["global_keyprefix"] = request.param
    return found


@pytest.fixture
def connection(redis_url: str, options: dict[str, Any]) -> Iterator[Connection]:
    with Connection(redis_url, transport_options=options) as connection:
        yield connection


def deliver(connection: Connection, count: int) -> list[Message]:
    """`count` messages delivered to a consumer that must acknowledge them."""
    queue = Queue("keepalive-test", Exchange("keepalive-test"), routing_key="keepalive-test")
    channel = connection.default_channel
    producer = Producer(channel)
    for n in range(count):
        producer.publish(
            {"n": n}, exchange=queue.exchange, routing_key="keepalive-test", declare=[queue]
        )
    received: list[Message] = []
    consumer = Consumer(
        channel, [queue], callbacks=[lambda _body, message: received.append(message)]
    )
    consumer.consume()

    def all_received() -> bool:
        with contextlib.suppress(TimeoutError):
            connection.drain_events(timeout=0.5)
        return len(received) == count

    wait_until(all_received, 10, "the messages to be delivered")
    return received


def test_the_held_tags_are_kombus_unacked_index(
    connection: Connection, options: dict[str, Any], redis_client: redis.Redis
) -> None:
    channel = connection.default_channel
    assert isinstance(channel, kombu_redis.Channel)
    index = keys.kombu_unacked_index(options)
    assert f"{channel.global_keyprefix}{channel.unacked_index_key}" == index
    first, second, third = deliver(connection, 3)
    tags = [str(m.delivery_tag) for m in (first, second, third)]
    assert sorted(held_tags(channel.qos)) == sorted(tags)
    assert redis_client.zcard(index) == 3
    assert all(redis_client.zscore(index, tag) is not None for tag in tags)
    assert redis_client.hlen(keys.kombu_unacked(options)) == 3

    first.ack()
    assert sorted(held_tags(channel.qos)) == sorted(tags[1:])
    # kombu put the third back meanwhile (as a sweep of another consumer would): never re-added.
    redis_client.zrem(index, tags[2])
    old = time.time() - 3_600
    redis_client.zadd(index, {tags[1]: old})

    before = time.time()
    keeper = MessageKeeper(channel.qos, redis.Redis(connection_pool=channel.pool), index, 1)
    assert keeper.refresh() == 1
    score = redis_client.zscore(index, tags[1])
    assert score is not None and score >= before
    assert redis_client.zscore(index, tags[0]) is None
    assert redis_client.zscore(index, tags[2]) is None


def test_the_step_refreshes_the_consumer_channel_on_its_thread_until_stopped(
    redis_url: str, options: dict[str, Any], redis_client: redis.Redis
) -> None:
    """Started as Celery starts it, with the consumer's parts it reads."""
    # A timeout of 2 s refreshes every 0.5 s.
    fast = {**options, "visibility_timeout": 2}
    app = make_celery("test-keepalive-step", CommonSettings(redis_url=redis_url))
    app.conf.broker_transport_options = fast
    with Connection(redis_url, transport_options=fast) as connection:
        [message] = deliver(connection, 1)
        index = keys.kombu_unacked_index(fast)
        tag = str(message.delivery_tag)
        redis_client.zadd(index, {tag: 0})
        parent = SimpleNamespace(app=app, task_consumer=Consumer(connection.default_channel, []))
        step = KeepHeldMessages(parent)
        step.start(parent)
        try:
            wait_until(
                lambda: (redis_client.zscore(index, tag) or 0) > 0,
                10,
                "the step to refresh the held message",
            )
        finally:
            step.stop(parent)
        assert step.keeper is None
        message.ack()


@pytest.mark.slow
def test_the_step_refreshes_through_a_sentinel_channel(redis_sentinel: SentinelCluster) -> None:
    """kombu's SentinelChannel: its pool finds the master, as the keeper's client uses it."""
    url = redis_sentinel.url(db=3)
    app = make_celery("test-keepalive-sentinel", CommonSettings(redis_url=url))
    fast = {**app.conf.broker_transport_options, "visibility_timeout": 2}
    app.conf.broker_transport_options = fast
    master = sync_client(url)
    try:
        with app.connection_for_write() as connection:
            assert isinstance(connection.default_channel, kombu_redis.SentinelChannel)
            [message] = deliver(connection, 1)
            index = keys.kombu_unacked_index(fast)
            tag = str(message.delivery_tag)
            master.zadd(index, {tag: 0})
            parent = SimpleNamespace(
                app=app, task_consumer=Consumer(connection.default_channel, [])
            )
            step = KeepHeldMessages(parent)
            step.start(parent)
            try:
                wait_until(
                    lambda: (master.zscore(index, tag) or 0) > 0,
                    10,
                    "the step to refresh the held message through sentinel",
                )
            finally:
                step.stop(parent)
            message.ack()
    finally:
        master.close()
        app.close()
