"""A task cancelled while it waits never runs: the revocation is kept in Redis for the workers.

Real monitor, real worker processes, real Redis; the events are counted by Celery's receiver.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from celery import Celery
from fastapi.testclient import TestClient

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings
from sdp_http.deps import get_redis
from sdp_monitor.app import create_app
from sdp_testing.auth import Token, auth
from sdp_testing.events import EventLog, recording_events
from sdp_testing.processes import running_worker, wait_until
from sdp_testing.redis_server import free_port

from .support import monitor_settings


@pytest.fixture
def monitor(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    with TestClient(create_app(monitor_settings(redis_url, jwt_secret))) as client:
        consumer = client.app.state.consumer  # type: ignore[attr-defined]
        wait_until(consumer.connected.is_set, 10, "the monitor to hear events")
        yield client


@pytest.fixture
def sender(redis_url: str) -> Iterator[Celery]:
    app = make_celery("test-revocation-sender", CommonSettings(redis_url=redis_url))
    yield app
    app.close()


def detail(monitor: TestClient, token: Token, task_id: str) -> dict[str, Any]:
    response = monitor.get(f"/api/v1/celery/task/{task_id}", headers=auth(token, "viewer"))
    return response.json() if response.status_code == 200 else {}


def cancel(monitor: TestClient, token: Token, task_id: str) -> dict[str, Any]:
    response = monitor.post(
        f"/api/v1/celery/task/{task_id}/cancel", headers=auth(token, "operator")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def dropped_or_ran(events: EventLog, task_id: str) -> bool:
    return events.count("task-revoked", task_id) + events.count("task-succeeded", task_id) > 0


def never_ran(events: EventLog, task_id: str) -> None:
    assert events.count("task-started", task_id) == 0
    assert events.count("task-succeeded", task_id) == 0
    assert events.count("task-revoked", task_id) == 1


@pytest.mark.slow
def test_a_task_cancelled_with_no_worker_online_never_runs(
    monitor: TestClient, sender: Celery, token: Token, redis_url: str
) -> None:
    with recording_events(sender) as events:
        result = sender.send_task("system.noop")
        wait_until(lambda: detail(monitor, token, result.id).get("state") == "PENDING", 10, "sent")

        cancelled = cancel(monitor, token, result.id)
        assert cancelled == {
            "id": result.id,
            "state": "REVOKED",
            "terminated": False,
            "workers": [],
        }

        with running_worker(redis_url, concurrency=1) as worker:
            events.wait_for_worker(worker.name)
            wait_until(lambda: dropped_or_ran(events, result.id), 30, "the worker to take it")
        never_ran(events, result.id)
        assert str(result.state) == "REVOKED"
        wait_until(
            lambda: detail(monitor, token, result.id)["state"] == "REVOKED", 10, "the history"
        )
    audit = monitor.get("/api/v1/celery/audit", headers=auth(token, "admin")).json()
    assert (audit["items"][0]["action"], audit["items"][0]["result"]) == ("task.cancel", "ok")


@pytest.mark.slow
def test_a_countdown_cancelled_while_held_never_runs_on_the_worker_that_takes_it_next(
    monitor: TestClient, sender: Celery, token: Token, redis_url: str
) -> None:
    """The holder knew the revoke only in memory; its warm stop put the message back."""
    with recording_events(sender) as events:
        with running_worker(redis_url, concurrency=1) as holder:
            events.wait_for_worker(holder.name)
            result = sender.send_task("system.noop", countdown=15)
            wait_until(lambda: events.count("task-received", result.id) == 1, 20, "received")
            cancelled = cancel(monitor, token, result.id)
            assert (cancelled["state"], cancelled["workers"]) == ("REVOKED", [holder.name])
        with running_worker(redis_url, concurrency=1) as heir:
            events.wait_for_worker(heir.name)
            wait_until(lambda: events.count("task-received", result.id) == 2, 20, "redelivered")
            wait_until(lambda: dropped_or_ran(events, result.id), 40, "the countdown to end")
        never_ran(events, result.id)
        assert str(result.state) == "REVOKED"


def test_redis_down_is_503_and_marks_nothing(
    monitor: TestClient, sender: Celery, token: Token, redis_client: redis.Redis
) -> None:
    """The revocation is stored first: when that fails, nothing else happens."""
    result = sender.send_task("system.noop")
    wait_until(lambda: detail(monitor, token, result.id).get("state") == "PENDING", 10, "sent")
    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")

    async def dead_redis() -> aioredis.Redis:
        return dead

    monitor.app.dependency_overrides[get_redis] = dead_redis  # type: ignore[attr-defined]
    response = monitor.post(
        f"/api/v1/celery/task/{result.id}/cancel", headers=auth(token, "operator")
    )
    assert response.status_code == 503, response.text
    assert "ConnectionError" in response.json()["error"]["message"]
    assert detail(monitor, token, result.id)["state"] == "PENDING"
    assert not redis_client.exists(keys.REVOKED)
