"""A message a live worker holds runs once, however long it waits or runs.

With a visibility timeout of 10 s, kombu hands an unacknowledged message back to the queue
once it was delivered 10 s ago, unless the worker holding it keeps it alive.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from sdp_core import keys
from sdp_core.queues import QUEUES
from sdp_testing.events import EventLog, recording_events
from sdp_testing.processes import running_worker, wait_until
from sdp_worker.app import create_app
from sdp_worker.settings import WorkerSettings

pytestmark = pytest.mark.slow

VISIBILITY_TIMEOUT_S = 10
FAST_RESTORE = {"SDP_VISIBILITY_TIMEOUT_S": str(VISIBILITY_TIMEOUT_S)}
# Long enough for two visibility timeouts and two restore sweeps: three runs before the fix.
WAIT_S = 25


@pytest.fixture
def app(redis_url: str) -> Iterator[Celery]:
    app = create_app(WorkerSettings(redis_url=redis_url, visibility_timeout_s=VISIBILITY_TIMEOUT_S))
    yield app
    app.close()


def settled(app: Celery, client: redis.Redis, *workers: str) -> bool:
    """No queue holds a message, and every one of these workers answers that it holds no task.

    A busy solo worker cannot answer, and kombu's unacked hash does not tell: a copy handed out
    again keeps the delivery tag, which the first copy's ack removes.
    """
    if any(client.llen(key) for queue in QUEUES for key in keys.queue_keys(queue)):
        return False
    inspect = app.control.inspect(destination=list(workers), timeout=2)
    for answer in (inspect.active(), inspect.reserved(), inspect.scheduled()):
        if answer is None or set(answer) != set(workers) or any(answer.values()):
            return False
    return True


def ran_once(events: EventLog, task_id: str) -> None:
    # The result is stored before the worker's buffered task-succeeded event goes out.
    wait_until(lambda: events.count("task-succeeded", task_id) > 0, 10, "the task-succeeded event")
    assert events.count("task-received", task_id) == 1
    assert events.count("task-started", task_id) == 1
    assert events.count("task-succeeded", task_id) == 1


def test_a_countdown_beyond_the_visibility_timeout_runs_once(
    app: Celery, redis_url: str, redis_client: redis.Redis
) -> None:
    with (
        recording_events(app) as events,
        running_worker(redis_url, concurrency=2, **FAST_RESTORE) as worker,
    ):
        events.wait_for_worker(worker.name)
        result = app.send_task("system.noop", countdown=WAIT_S)
        assert result.get(timeout=WAIT_S + 60) is None
        wait_until(
            lambda: settled(app, redis_client, worker.name), 30, "the worker to hold nothing"
        )
        ran_once(events, result.id)


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_a_task_longer_than_the_visibility_timeout_runs_once(
    app: Celery, redis_url: str, redis_client: redis.Redis, pool: str
) -> None:
    # A solo worker's own restore sweep waits for its task to end, so a second worker sweeps.
    with (
        recording_events(app) as events,
        running_worker(redis_url, concurrency=1, SDP_WORKER_POOL=pool, **FAST_RESTORE) as one,
        running_worker(redis_url, concurrency=1, SDP_WORKER_POOL=pool, **FAST_RESTORE) as two,
    ):
        events.wait_for_worker(one.name)
        events.wait_for_worker(two.name)
        result = app.send_task("system.sleep", args=[WAIT_S])
        assert result.get(timeout=WAIT_S + 60) == {"slept_s": float(WAIT_S)}
        wait_until(
            lambda: settled(app, redis_client, one.name, two.name),
            WAIT_S + 30,
            "the workers to hold nothing",
        )
        ran_once(events, result.id)


def test_a_killed_workers_eta_task_comes_back_after_the_visibility_timeout(
    app: Celery, redis_url: str, redis_client: redis.Redis
) -> None:
    with recording_events(app) as events:
        with running_worker(redis_url, concurrency=2, **FAST_RESTORE) as doomed:
            events.wait_for_worker(doomed.name)
            result = app.send_task("system.noop", countdown=WAIT_S)
            wait_until(lambda: events.count("task-received", result.id) == 1, 20, "received")
            doomed.signal(signal.SIGKILL)
        with running_worker(redis_url, concurrency=2, **FAST_RESTORE) as heir:
            # Back in the queue only after the dead worker stopped keeping it alive.
            wait_until(lambda: events.count("task-received", result.id) == 2, 60, "redelivery")
            assert result.get(timeout=WAIT_S + 60) is None
            wait_until(
                lambda: settled(app, redis_client, heir.name), 30, "the heir to hold nothing"
            )
        assert events.count("task-started", result.id) == 1
        assert events.count("task-succeeded", result.id) == 1
        assert result.worker == heir.name
