"""Message templates: a stamped message is the one Celery would have built for that send.

These are the tests sdp_beat.messages names as the guard of its assumptions about Celery's and
kombu's message layout: they fail when an upgrade changes it (the templates then go unused or
differ from what Celery sends), not only when a message is wrong.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis

from sdp_beat.app import create_app
from sdp_beat.messages import MessageEncoder
from sdp_beat.settings import BeatSettings
from sdp_core import keys
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.records import Schedule


@pytest.fixture
def encoder(redis_url: str) -> Iterator[tuple[MessageEncoder, list[str]]]:
    app = create_app(BeatSettings(redis_url=redis_url))
    connection = app.connection_for_write()
    producer = app.amqp.Producer(connection, auto_declare=False)
    built: list[str] = []

    def send(schedule: Schedule, task_id: str, slot_ms: int) -> None:
        built.append(task_id)
        app.send_task(
            schedule.spec.task.value,
            args=schedule.spec.args,
            kwargs=schedule.spec.kwargs,
            task_id=task_id,
            priority=schedule.spec.priority,
            producer=producer,
            headers={"sdp_schedule": schedule.id, "sdp_slot": slot_ms},
        )

    yield MessageEncoder(lambda: producer, send, cast(Any, app).clock.forward), built
    connection.release()


def event_of(payload: str) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads(base64.b64decode(json.loads(payload)["body"]))
    return fields


def without_tag(payload: str) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(payload)
    message["properties"].pop("delivery_tag")
    return message


def kombu_decoded(messages: MessageEncoder, payload: str) -> dict[str, Any]:
    """What a consumer's kombu reads of a pushed message, delivery tag aside."""
    message = messages._producer().channel.message_to_python(json.loads(payload))
    properties = dict(message.properties)
    properties.pop("delivery_tag")
    return {
        "body": message.decode(),
        "headers": message.headers,
        "properties": properties,
        "delivery_info": message.delivery_info,
        "content_type": message.content_type,
        "content_encoding": message.content_encoding,
    }


SCHEDULES: list[dict[str, Any]] = [
    {"name": "sleepy", "task": "system.sleep", "kwargs": {"seconds": 0.5}, "priority": 2},
    {"name": "routed", "task": "system.sleep", "args": [0.25], "queue": "etl"},
    {"name": "plain", "task": "system.noop"},
]


@pytest.mark.parametrize("document", SCHEDULES, ids=[d["name"] for d in SCHEDULES])
def test_stamped_messages_for_random_ids_and_slots_decode_as_celerys(
    encoder: tuple[MessageEncoder, list[str]], redis_client: redis.Redis, document: dict[str, Any]
) -> None:
    messages, built = encoder
    schedule = ScheduleDefinitions(redis_client).create(
        document | {"trigger": {"type": "interval", "every": 5}}
    )
    rng = random.Random(19)
    sends = [
        (schedule, str(uuid.UUID(int=rng.getrandbits(128), version=4)), rng.randrange(1, 2**53))
        for _ in range(20)
    ]
    encoded = messages.encode(sends)
    assert encoded is not None
    assert len(built) == 1, "the template was not used: Celery's or kombu's layout changed"
    for (_, task_id, slot_ms), ours in zip(sends, encoded, strict=True):
        celerys = messages._capture(schedule, task_id, slot_ms)
        assert celerys is not None
        assert [(op, key) for op, key, _ in ours] == [(op, key) for op, key, _ in celerys]
        (_, _, stamped), (_, _, stamped_event) = ours
        (_, _, direct), (_, _, direct_event) = celerys
        assert without_tag(stamped) == without_tag(direct)
        decoded = kombu_decoded(messages, stamped)
        assert decoded == kombu_decoded(messages, direct)
        assert decoded["headers"]["id"] == decoded["headers"]["root_id"] == task_id
        assert decoded["headers"]["sdp_slot"] == slot_ms
        ours_event, celerys_event = event_of(stamped_event), event_of(direct_event)
        assert ours_event.pop("clock") < celerys_event.pop("clock")
        assert abs(ours_event.pop("timestamp") - celerys_event.pop("timestamp")) < 60
        assert ours_event == celerys_event
        assert celerys_event["uuid"] == task_id


def test_a_stamped_message_equals_a_built_one(
    encoder: tuple[MessageEncoder, list[str]], redis_client: redis.Redis
) -> None:
    messages, built = encoder
    schedule = ScheduleDefinitions(redis_client).create(
        {
            "name": "sleepy",
            "task": "system.sleep",
            "kwargs": {"seconds": 0.5},
            "priority": 2,
            "trigger": {"type": "interval", "every": 5},
        }
    )
    task_id = "11111111-2222-4333-8444-555555555555"
    encoded = messages.encode([(schedule, task_id, 1_790_000_000_000)])
    assert encoded is not None
    [[(push, queue, stamped), (publish, channel, stamped_event)]] = encoded
    assert (push, publish) == ("lpush", "publish")
    captured = messages._capture(schedule, task_id, 1_790_000_000_000)
    assert captured is not None
    [(_, direct_queue, direct), (_, direct_channel, direct_event)] = captured
    assert queue == direct_queue == keys.queue_keys("system")[2]
    assert without_tag(stamped) == without_tag(direct)
    assert json.loads(stamped)["headers"]["id"] == task_id
    # The task-sent event Celery's send publishes, with this send's id, clock and time.
    assert channel == direct_channel == "/0.celeryev/task.sent"
    ours, celery = event_of(stamped_event), event_of(direct_event)
    assert ours.pop("clock") < celery.pop("clock")
    assert abs(ours.pop("timestamp") - celery.pop("timestamp")) < 60
    assert ours == celery
    assert celery["uuid"] == celery["root_id"] == task_id
    assert (celery["queue"], celery["name"], celery["type"]) == (
        "system",
        "system.sleep",
        "task-sent",
    )
    assert without_tag(stamped_event) | {"body": ""} == without_tag(direct_event) | {"body": ""}
    # Built once for the template; later sends of this version only stamp it.
    built.clear()
    messages.encode([(schedule, f"id-{n}", n) for n in range(5)])
    assert built == []
    # A re-sync keeps templates in use and drops the rest.
    messages.forget()
    messages.encode([(schedule, "after-resync", 1)])
    assert built == []
    messages.forget()
    messages.forget()
    messages.encode([(schedule, "rebuilt", 1)])
    assert len(built) == 1  # the template was built again
    tags = {
        json.loads(m)["properties"]["delivery_tag"]
        for m in [stamped, direct, stamped_event, direct_event]
    }
    assert len(tags) == 4


def test_a_message_with_a_send_time_value_is_built_every_time(
    encoder: tuple[MessageEncoder, list[str]], redis_client: redis.Redis
) -> None:
    messages, built = encoder
    schedule = ScheduleDefinitions(redis_client).create(
        {
            "name": "expiring",
            "task": "system.noop",
            "expires_s": 30,
            "trigger": {"type": "interval", "every": 5},
        }
    )
    messages.encode([(schedule, "a", 1), (schedule, "b", 2)])
    assert built == ["a", "b"]
