"""A worker stopped as Kubernetes stops it (SIGTERM to its main process only, with
REMAP_SIGTERM=SIGQUIT as deploy/k8s sets it) lets short tasks finish and hands long ones back.

The visibility timeout stays at its default hour, so a task that another worker runs within
the test was handed back by the stopped worker, not restored after the timeout.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from sdp_core import keys
from sdp_core.queues import QUEUES
from sdp_core.settings import load_settings
from sdp_testing.events import recording_events
from sdp_testing.processes import (
    kubelet_stop,
    running_worker,
    stopped_like_a_pod,
    wait_until,
)
from sdp_worker.app import create_app
from sdp_worker.settings import WorkerSettings


@pytest.fixture
def app(redis_url: str) -> Iterator[Celery]:
    app = create_app(WorkerSettings(redis_url=redis_url))
    yield app
    app.close()


def test_the_soft_shutdown_timeout_reaches_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDP_WORKER_SOFT_SHUTDOWN_TIMEOUT_S", "90")
    app = create_app(load_settings(WorkerSettings))
    assert app.conf.worker_soft_shutdown_timeout == 90.0
    monkeypatch.setenv("SDP_WORKER_SOFT_SHUTDOWN_TIMEOUT_S", "-1")
    with pytest.raises(SystemExit, match="SDP_WORKER_SOFT_SHUTDOWN_TIMEOUT_S"):
        load_settings(WorkerSettings)


@pytest.mark.slow
def test_a_task_shorter_than_the_timeout_finishes_on_the_stopping_worker(
    app: Celery, redis_url: str, redis_client: redis.Redis
) -> None:
    with (
        recording_events(app) as events,
        running_worker(redis_url, concurrency=2, **stopped_like_a_pod(soft_shutdown_s=8)) as worker,
    ):
        events.wait_for_worker(worker.name)
        result = app.send_task("system.sleep", args=[2])
        wait_until(lambda: events.count("task-started", result.id) == 1, 20, "the task to start")
        kubelet_stop(worker)
        assert result.get(timeout=30) == {"slept_s": 2.0}
        assert worker.proc.wait(timeout=30) == 0
    assert result.worker == worker.name
    assert events.count("task-received", result.id) == 1
    # Acknowledged, not handed back to run again.
    assert not any(redis_client.llen(key) for queue in QUEUES for key in keys.queue_keys(queue))
    assert not redis_client.hlen(keys.kombu_unacked(app.conf.broker_transport_options))


@pytest.mark.slow
def test_a_task_longer_than_the_timeout_is_handed_back_and_runs_elsewhere(
    app: Celery, redis_url: str
) -> None:
    env = stopped_like_a_pod(soft_shutdown_s=1)
    with recording_events(app) as events:
        with running_worker(redis_url, concurrency=2, **env) as doomed:
            events.wait_for_worker(doomed.name)
            result = app.send_task("system.sleep", args=[6])
            wait_until(lambda: events.count("task-started", result.id) == 1, 20, "the start")
            kubelet_stop(doomed)
            assert doomed.proc.wait(timeout=30) == 0
        with running_worker(redis_url, concurrency=2, **env) as heir:
            assert result.get(timeout=60) == {"slept_s": 6.0}
        assert result.worker == heir.name
        assert events.count("task-received", result.id) == 2


@pytest.mark.slow
def test_a_countdown_held_by_a_stopping_worker_goes_back_to_its_queue(
    app: Celery, redis_url: str
) -> None:
    env = stopped_like_a_pod(soft_shutdown_s=1)
    with recording_events(app) as events:
        with running_worker(redis_url, concurrency=2, **env) as doomed:
            events.wait_for_worker(doomed.name)
            result = app.send_task("system.noop", countdown=8)
            wait_until(lambda: events.count("task-received", result.id) == 1, 20, "received")
            kubelet_stop(doomed)
            assert doomed.proc.wait(timeout=30) == 0
        with running_worker(redis_url, concurrency=2, **env) as heir:
            assert result.get(timeout=60) is None
        assert result.worker == heir.name
        assert events.count("task-started", result.id) == 1
