"""The monitor's reading of task messages in a queue is kombu's and Celery's own reading.

Should a kombu or Celery upgrade change what `sdp_monitor.cluster.task_message` assumes (the
envelope, the body's encoding, protocol 2's headers), these fail: the queue peek would misread
what waits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from celery import Celery

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings
from sdp_monitor.cluster.task_message import read_task_message

from .support import kombu_message

CAP = 2_048
ETA = datetime(2030, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)


@pytest.fixture
def app(redis_url: str) -> Iterator[Celery]:
    app = make_celery("test-task-message", CommonSettings(redis_url=redis_url))
    yield app
    app.close()


def sent(app: Celery, client: redis.Redis, priority: int = 5, **options: Any) -> bytes:
    """One task sent to the system queue, as kombu stored it there."""
    app.send_task("system.noop", queue="system", priority=priority, **options)
    [data] = client.lrange(keys.queue_keys("system")[priority], 0, -1)
    assert isinstance(data, bytes)
    return data


def reworked(data: bytes, change: Any) -> bytes:
    envelope = json.loads(data)
    change(envelope)
    return json.dumps(envelope).encode()


def without_reprs(envelope: dict[str, Any]) -> None:
    """As a sender that gives no repr of the arguments leaves a message."""
    del envelope["headers"]["argsrepr"], envelope["headers"]["kwargsrepr"]


def test_a_message_reads_as_kombu_and_celery_read_it(
    app: Celery, redis_client: redis.Redis
) -> None:
    data = sent(
        app,
        redis_client,
        priority=7,
        args=[1, "two"],
        kwargs={"three": 3},
        eta=ETA,
        expires=ETA + timedelta(hours=1),
    )
    theirs = kombu_message(app, data)
    ours = read_task_message(data, CAP)
    assert (ours.id, ours.task) == (theirs.headers["id"], "system.noop")
    assert ours.eta == datetime.fromisoformat(theirs.headers["eta"]) == ETA
    assert ours.expires == datetime.fromisoformat(theirs.headers["expires"])
    assert ours.expires == ETA + timedelta(hours=1)
    args, kwargs, _ = theirs.decode()
    assert (ours.args, ours.kwargs) == (repr(args), repr(kwargs)) == ("[1, 'two']", "{'three': 3}")
    assert (ours.size, ours.error) == (len(data), None)
    properties: dict[str, Any] = theirs.properties
    assert properties["priority"] == 7


def test_the_senders_repr_is_shown_and_the_body_only_without_one(
    app: Celery, redis_client: redis.Redis
) -> None:
    data = sent(app, redis_client, args=["hunter2"], kwargs={"user": "ada"}, argsrepr="('***',)")
    ours = read_task_message(data, CAP)
    assert (ours.args, ours.kwargs) == ("('***',)", "{'user': 'ada'}")
    bare = reworked(data, without_reprs)
    args, kwargs, _ = kombu_message(app, bare).decode()
    ours = read_task_message(bare, CAP)
    assert (ours.args, ours.kwargs) == (repr(args), repr(kwargs))
    assert (ours.args, ours.kwargs) == ("['hunter2']", "{'user': 'ada'}")
    assert ours.error is None


def test_arguments_are_capped(app: Celery, redis_client: redis.Redis) -> None:
    data = sent(app, redis_client, args=["x" * 500], kwargs={"y": "z" * 500})
    ours = read_task_message(data, 64)
    assert ours.args is not None and ours.kwargs is not None
    assert (len(ours.args), len(ours.kwargs)) == (64, 64)
    assert ours.args.startswith("['xxx") and ours.kwargs.startswith("{'y': 'zzz")


def test_what_does_not_decode_is_told_with_what_could_be_read(
    app: Celery, redis_client: redis.Redis
) -> None:
    garbage = b"\xff\x00 not json"
    assert read_task_message(garbage, CAP).error is not None
    assert read_task_message(garbage, CAP).size == len(garbage)
    for data in (b"[1, 2]", b'{"body": "", "headers": {}}'):
        assert "protocol 2" in str(read_task_message(data, CAP).error)

    pickled = sent(app, redis_client, args=[1], serializer="pickle")
    ours = read_task_message(reworked(pickled, without_reprs), CAP)
    assert ours.task == "system.noop" and ours.id is not None
    assert ours.args is None
    assert ours.error == "its arguments are application/x-python-serialize, not JSON"
    # With the sender's repr, the body's serializer does not matter.
    assert read_task_message(pickled, CAP).args == "[1]"

    def bad_eta(envelope: dict[str, Any]) -> None:
        envelope["headers"]["eta"] = "next tuesday"

    ours = read_task_message(reworked(pickled, bad_eta), CAP)
    assert ours.id is not None and ours.args is None
    assert "eta is not an ISO 8601 time" in str(ours.error)

    def bad_body(envelope: dict[str, Any]) -> None:
        without_reprs(envelope)
        envelope["content-type"] = "application/json"
        envelope["body"] = "!!"

    assert "body does not decode" in str(read_task_message(reworked(pickled, bad_body), CAP).error)
