"""Message templates: a stamped message is the one Celery would have built for that send."""

from __future__ import annotations

import base64
import json
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
