"""The catalogue wired as Celery tasks, run by a real worker on real Redis."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult
from kombu.transport import redis as kombu_redis

from sdp_core.queues import TaskName
from sdp_jobs.catalogue import CATALOGUE
from sdp_testing.processes import running_worker, wait_until, worker_env
from sdp_worker.app import create_app
from sdp_worker.settings import WorkerSettings


@pytest.fixture
def app(redis_url: str) -> Iterator[Celery]:
    app = create_app(WorkerSettings(redis_url=redis_url))
    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10
    ):
        yield app
    app.close()


def send(app: Celery, name: str, *args: Any, **kwargs: Any) -> AsyncResult[Any]:
    return app.send_task(name, args=list(args), kwargs=kwargs)


def test_every_catalogue_job_is_a_task_on_its_queue(redis_url: str) -> None:
    app = create_app(WorkerSettings(redis_url=redis_url))
    for name in TaskName:
        task = app.tasks[name.value]
        assert task.queue == name.value.split(".")[0]  # type: ignore[attr-defined]
        policy = CATALOGUE[name].policy
        assert (task.soft_time_limit, task.time_limit, task.max_retries) == (
            policy.soft_time_limit_s,
            policy.time_limit_s,
            policy.max_retries,
        )
    assert app.conf.worker_pool_restarts is True


def test_noop_and_collect_succeed(app: Celery, httpserver: Any, redis_client: redis.Redis) -> None:
    httpserver.expect_request("/orders.json").respond_with_json([{"id": 1}, {"id": 2}])
    assert send(app, "system.noop").get(timeout=20) is None
    result = send(app, "collect.http", url=httpserver.url_for("/orders.json"))
    body = result.get(timeout=20)
    assert body["status"] == 200
    assert redis_client.exists(body["payload_key"])
    transformed = send(
        app,
        "etl.transform",
        source=body["payload_key"],
        pipeline=[{"step": "select", "fields": ["id"]}],
    ).get(timeout=20)
    assert transformed["rows_out"] == 2


def test_bad_arguments_fail_with_a_message(app: Celery) -> None:
    result = send(app, "collect.http", url="not a url")
    with pytest.raises(Exception, match="url") as failure:
        result.get(timeout=20)
    assert result.state == "FAILURE"
    assert "bad arguments" in str(failure.value)
    extra = send(app, "system.noop", surprise=1)
    with pytest.raises(Exception, match="surprise"):
        extra.get(timeout=20)


def test_transient_failures_are_retried_by_celery(app: Celery, httpserver: Any) -> None:
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_data("fine", status=200)
    result = send(app, "collect.http", url=httpserver.url_for("/flaky"), attempts=1)
    assert result.get(timeout=30)["status"] == 200
    assert result.retries == 1


def test_time_limit_ends_a_task_as_failure(redis_url: str) -> None:
    app = create_app(WorkerSettings(redis_url=redis_url))
    with running_worker(redis_url, concurrency=1):
        result = app.send_task("system.sleep", args=[30], soft_time_limit=1, time_limit=5)
        with pytest.raises(Exception, match=r"SoftTimeLimitExceeded|TimeLimit"):
            result.get(timeout=20)
        assert result.state == "FAILURE"
    app.close()


def test_health_command_follows_the_worker(redis_url: str) -> None:
    with running_worker(redis_url) as worker:
        env = worker_env(
            redis_url, SDP_WORKER_HOSTNAME=worker.name, SDP_WORKER_HEALTH_TIMEOUT_S="2"
        )
        ok = subprocess.run(
            [sys.executable, "-m", "sdp_worker.health"], env=env, capture_output=True, timeout=30
        )
        assert ok.returncode == 0, ok.stdout
    gone = subprocess.run(
        [sys.executable, "-m", "sdp_worker.health"], env=env, capture_output=True, timeout=30
    )
    assert gone.returncode == 1


@pytest.mark.slow
def test_killed_workers_task_is_redelivered(redis_url: str) -> None:
    """acks_late: a task whose worker is SIGKILLed mid-run is run again by another worker.

    The kill may land while the worker holds kombu's restore lock (it scans every second
    here); the test takes that lock as the dead worker would have left it, so the worst case
    is what runs: the lock's expiry must not hold the message back past the wait.
    """
    app = create_app(WorkerSettings(redis_url=redis_url, visibility_timeout_s=10))
    fast_restore = {"SDP_VISIBILITY_TIMEOUT_S": "10"}
    with running_worker(redis_url, concurrency=1, **fast_restore) as doomed:
        result = app.send_task("system.sleep", args=[3])
        wait_until(lambda: result.state == "STARTED", 10, "the sleep to start")
        doomed.signal(9)
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, kombu_redis.Channel)
        left_behind = redis.Redis.from_url(redis_url).lock(
            channel.unacked_mutex_key, timeout=channel.unacked_mutex_expire
        )
        left_behind.acquire(blocking=False)
    with running_worker(redis_url, concurrency=1, **fast_restore):
        assert result.get(timeout=60) == {"slept_s": 3.0}
    app.close()
