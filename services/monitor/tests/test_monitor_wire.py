"""The event stream's reading of Celery's messages is kombu's and Celery's own reading.

Should a kombu or Celery upgrade change what `sdp_monitor.stream.wire` assumes (the channel
name, the envelope, the body's encoding, the events' fields), or a redis-py upgrade what
`EventConsumer._listen` assumes (replies read off the connection), these fail: the monitor
would hear nothing, or misread what it hears.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from celery.utils.time import utcoffset
from redis.connection import Connection

from sdp_core.celery_config import make_celery
from sdp_core.connections import sync_client
from sdp_core.settings import CommonSettings
from sdp_monitor.stream.wire import event_channels, localize, message_events
from sdp_testing.events import event_messages
from sdp_testing.processes import wait_until

from .support import kombu_body

# What Celery's receiver adds that the monitor does not keep.
RECEIVER_ONLY = ("clock", "local_received")


@pytest.fixture
def app(redis_url: str) -> Iterator[Celery]:
    app = make_celery("test-wire", CommonSettings(redis_url=redis_url))
    yield app
    app.close()


@pytest.fixture
def messages(app: Celery, redis_client: redis.Redis) -> list[bytes]:
    """Heard on the channels `event_channels` names, so it names the ones kombu publishes on."""
    return event_messages(app, redis_client, event_channels(app, redis_client))


def test_the_events_of_a_message_are_what_kombu_decodes(app: Celery, messages: list[bytes]) -> None:
    sent, batch = (message_events(data) for data in messages)
    assert [event["type"] for event in (*sent, *batch)] == [
        "task-sent",
        "task-received",
        "task-started",
        "task-succeeded",
    ]
    assert sent == [kombu_body(app, messages[0])]
    # A worker's task events arrive as one list.
    assert batch == kombu_body(app, messages[1])


def test_events_localized_as_celerys_receiver_localizes_them(
    app: Celery, messages: list[bytes]
) -> None:
    here = utcoffset()
    with app.connection_for_read() as connection:
        receiver = app.events.Receiver(connection, handlers={})
        for data in messages:
            for event in message_events(data):
                # As if sent from two hours east of here.
                event["utcoffset"] = here + 2
                sent_at = event["timestamp"]
                kind, theirs = receiver.event_from_message(dict(event))
                localize(event, here)
                assert kind == event["type"]
                assert event["timestamp"] == pytest.approx(sent_at - 7200)
                assert event["timestamp"] == pytest.approx(theirs["timestamp"])
                assert without_receivers_own(event) == without_receivers_own(theirs)


def without_receivers_own(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in RECEIVER_ONLY}


def test_any_envelope_layout_and_an_unencoded_body_read_alike(messages: list[bytes]) -> None:
    envelope = json.loads(messages[0])
    reordered = {"properties": envelope["properties"], "body": envelope["body"]}
    assert message_events(json.dumps(reordered).encode()) == message_events(messages[0])
    plain = {"body": json.dumps([{"type": "x"}]), "properties": {}}
    assert message_events(json.dumps(plain).encode()) == [{"type": "x"}]


def test_replies_read_off_a_resp2_subscription_are_the_messages_as_published(
    app: Celery, redis_url: str, redis_client: redis.Redis
) -> None:
    channels = event_channels(app, redis_client)
    messages = event_messages(app, redis_client, channels)
    # As EventConsumer._consume subscribes and _listen reads.
    client = sync_client(redis_url, socket_timeout=5, protocol=2)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    try:
        pubsub.psubscribe(channels)
        conn: Connection = pubsub.connection
        assert conn.read_response(timeout=5, disconnect_on_error=False)[0] == b"psubscribe"
        for data in messages:
            redis_client.publish("/0.celeryev/task.multi", data)
        wait_until(lambda: conn.can_read(timeout=0), 5, "the messages")
        replies = [conn.read_response(timeout=5, disconnect_on_error=False)]
        while len(replies) < len(messages) and conn.can_read(timeout=1):
            replies.append(conn.read_response(disconnect_on_error=False))
    finally:
        pubsub.close()
        client.close()
    assert replies == [
        [b"pmessage", channels.encode(), b"/0.celeryev/task.multi", data] for data in messages
    ]
