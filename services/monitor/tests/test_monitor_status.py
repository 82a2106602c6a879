"""`/api/v1/celery/status` answering from a real worker process on real Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.heartbeat import BeatHeartbeat
from sdp_core.settings import CommonSettings
from sdp_monitor.app import create_app
from sdp_monitor.settings import MonitorSettings
from sdp_testing.auth import Token, auth
from sdp_testing.processes import running_worker, wait_until
from sdp_testing.redis_server import free_port


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = MonitorSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        yield client


def status(client: TestClient, token: Token) -> dict[str, Any]:
    response = client.get("/api/v1/celery/status", headers=auth(token, "viewer"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_status_sees_workers_active_tasks_and_queue_loads(
    client: TestClient, token: Token, redis_url: str
) -> None:
    sender = make_celery("test-sender", CommonSettings(redis_url=redis_url))
    # Nothing consumes etl here: its messages wait in three different priority steps.
    for priority in (0, 3, 9):
        sender.send_task("etl.transform", kwargs={}, priority=priority)
    with running_worker(redis_url, concurrency=1, queues="system") as worker:
        sender.send_task("system.sleep", args=[5])
        wait_until(lambda: status(client, token)["tasks_active"] == 1, 10, "the sleep to start")
        body = status(client, token)
        assert body["enabled"] is True
        assert body["workers_online"] == 1
        assert body["workers"] == [worker.name]
        assert body["queues"]["etl"] == {"pending": 3, "processing": 0}
        assert body["queues"]["system"] == {"pending": 0, "processing": 1}
        assert body["queues"]["collect"] == {"pending": 0, "processing": 0}
    sender.close()
    # The worker said goodbye before it exited; the event is handled a moment later.
    wait_until(lambda: status(client, token)["workers_online"] == 0, 5, "the worker to leave")


def test_beat_running_follows_the_heartbeat(
    client: TestClient, token: Token, redis_client: redis.Redis
) -> None:
    assert status(client, token)["beat_running"] is False
    beat = BeatHeartbeat(
        node="beat-1:42", last_tick=time.time() - 2, active=7, paused=2, set_aside=3
    )
    redis_client.set(keys.BEAT_HEARTBEAT, beat.to_json(), ex=30)
    body = status(client, token)
    assert body["beat_running"] is True
    assert body["beat"]["node"] == "beat-1:42"
    assert 1.5 < body["beat"]["last_tick_age_s"] < 30
    counts = ("schedules_active", "schedules_paused", "schedules_set_aside")
    assert [body["beat"][name] for name in counts] == [7, 2, 3]


def test_status_needs_a_token(client: TestClient) -> None:
    response = client.get("/api/v1/celery/status")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_broker_down_is_503(redis_url: str, jwt_secret: str, token: Token) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = MonitorSettings(
        environment="test",
        jwt_secret=jwt_secret,
        redis_url=redis_url,
        broker_url=dead,
    )
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get("/api/v1/celery/status", headers=auth(token, "viewer"))
        assert response.status_code == 503
        assert time.monotonic() - started < 30
