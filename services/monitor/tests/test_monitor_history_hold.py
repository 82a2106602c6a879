"""The history writer holds an unfinished task's changes, so a task is written once if it can be."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_core import keys
from sdp_monitor.app import create_app
from sdp_monitor.history.writer import MAX_HELD, HistoryWriter
from sdp_testing.auth import Token, auth
from sdp_testing.clock import Clock
from sdp_testing.processes import wait_until

from .support import event, monitor_settings, publish_events


def hash_writes(client: redis.Redis) -> int:
    """How many HSETs Redis has run, those in scripts included: one per task record written."""
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_hset", {}).get("calls", 0))


def test_a_task_that_finishes_within_the_hold_is_written_once(
    redis_client: redis.Redis,
) -> None:
    writer = HistoryWriter(redis_client, max_tasks=100, max_age_s=3_600, hold_s=60)
    before = hash_writes(redis_client)
    writer.add("t1", 100.0, "PENDING", {"name": "system.noop", "queue": "system"})
    assert writer.flush() == 0
    writer.add("t1", 101.0, "STARTED", {"worker": "w1@h"})
    assert writer.flush() == 0
    assert not redis_client.exists(keys.monitor_task("t1"))
    writer.add("t1", 102.0, "SUCCESS", {"runtime": "0.5"})
    assert writer.flush() == 1
    assert hash_writes(redis_client) == before + 1
    stored = redis_client.hgetall(keys.monitor_task("t1"))
    assert stored[b"state"] == b"SUCCESS"
    assert (stored[b"queue"], stored[b"worker"]) == (b"system", b"w1@h")
    assert stored[b"score"] == b"100000"
    assert redis_client.zrange(keys.monitor_index("state", "SUCCESS"), 0, -1) == [b"t1"]
    assert len(writer) == 0


def test_an_unfinished_task_is_written_when_its_hold_is_up(redis_client: redis.Redis) -> None:
    clock = Clock(1_000.0)
    writer = HistoryWriter(redis_client, max_tasks=100, max_age_s=3_600, hold_s=0.2, clock=clock)
    writer.add("t1", time.time(), "STARTED", {"name": "system.sleep"})
    writer.add("t2", time.time(), "FAILURE", {"name": "system.noop"})
    # The failed task is due at once; the running one waits.
    assert writer.flush() == 1
    assert redis_client.hget(keys.monitor_task("t2"), "state") == b"FAILURE"
    assert not redis_client.exists(keys.monitor_task("t1"))
    clock.now += 0.25
    assert writer.flush() == 1
    assert redis_client.hget(keys.monitor_task("t1"), "state") == b"STARTED"


def test_everything_held_is_written_on_the_way_out(redis_client: redis.Redis) -> None:
    writer = HistoryWriter(redis_client, max_tasks=100, max_age_s=3_600, hold_s=60)
    writer.add("t1", time.time(), "PENDING", {"name": "system.noop"})
    assert writer.flush() == 0
    assert writer.flush(everything=True) == 1
    assert redis_client.hget(keys.monitor_task("t1"), "state") == b"PENDING"


def test_beyond_the_cap_the_oldest_held_tasks_are_written_early(
    redis_client: redis.Redis,
) -> None:
    writer = HistoryWriter(
        redis_client, max_tasks=MAX_HELD * 2, max_age_s=3_600, hold_s=60, max_pending=MAX_HELD * 2
    )
    extra = 25
    for n in range(MAX_HELD + extra):
        writer.add(f"t{n:05}", 100.0 + n / 1000, "PENDING", {"queue": "etl"})
    assert writer.flush() == extra
    written = redis_client.zrange(keys.MONITOR_TASKS, 0, -1)
    assert written == [f"t{n:05}".encode() for n in range(extra)]
    assert len(writer) == MAX_HELD


def test_a_failed_write_keeps_the_changes_for_readers_and_the_next_flush(
    redis_client: redis.Redis,
) -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)
    writer = HistoryWriter(dead, max_tasks=100, max_age_s=3_600, hold_s=60)
    writer.add("t1", 100.0, "STARTED", {"worker": "w1@h"})
    assert writer.flush(everything=True) == 0
    held = writer.held("t1")
    assert held is not None
    assert (held.first_ms, held.state, held.fields) == (100_000, "STARTED", {"worker": "w1@h"})
    # Redis is back: what failed is due at once, whatever its hold.
    writer.client = redis_client
    assert writer.flush() == 1
    assert redis_client.hget(keys.monitor_task("t1"), "worker") == b"w1@h"
    assert writer.held("t1") is None


def hear(client: TestClient, redis_client: redis.Redis, token: Token, task_id: str) -> None:
    """Send a task-sent until the monitor's detail shows it (the app subscribes on its own
    thread, and events published before that are missed)."""
    headers = auth(token, "viewer")

    def heard() -> bool:
        publish_events(redis_client, [event("task-sent", task_id, time.time(), name="a.b")])
        response = client.get(f"/api/v1/celery/task/{task_id}", headers=headers)
        return bool(response.status_code == 200)

    wait_until(heard, 10, f"the monitor to hear {task_id}")


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    # The production hold: ten seconds, far longer than this test.
    with TestClient(create_app(monitor_settings(redis_url, jwt_secret))) as client:
        yield client


def test_a_held_task_shows_in_its_detail_at_once_and_in_the_list_when_it_finishes(
    client: TestClient, token: Token, redis_client: redis.Redis
) -> None:
    headers = auth(token, "viewer")
    now = time.time()
    hear(client, redis_client, token, "t0")
    publish_events(
        redis_client,
        [
            event("task-sent", "t1", now, name="system.sleep", queue="system", args="[5]"),
            event("task-started", "t1", now + 1, hostname="w1@h"),
        ],
    )

    def detail() -> dict[str, object]:
        response = client.get("/api/v1/celery/task/t1", headers=headers)
        return dict(response.json()) if response.status_code == 200 else {}

    wait_until(lambda: detail().get("state") == "STARTED", 10, "t1 to show as started")
    shown = detail()
    assert (shown["source"], shown["name"], shown["worker"]) == ("events", "system.sleep", "w1@h")
    assert (shown["queue"], shown["args"]) == ("system", "[5]")
    assert not redis_client.exists(keys.monitor_task("t1"))
    listed = client.get("/api/v1/celery/tasks", headers=headers).json()["items"]
    assert "t1" not in [item["id"] for item in listed]

    publish_events(redis_client, [event("task-succeeded", "t1", now + 6, runtime=5.0)])

    def listed_state() -> str | None:
        items = client.get("/api/v1/celery/tasks", headers=headers).json()["items"]
        return next((item["state"] for item in items if item["id"] == "t1"), None)

    wait_until(lambda: listed_state() == "SUCCESS", 10, "t1 in the list")
    assert redis_client.hget(keys.monitor_task("t1"), "worker") == b"w1@h"


def test_a_stopping_monitor_writes_what_it_holds(
    redis_url: str, jwt_secret: str, token: Token, redis_client: redis.Redis
) -> None:
    with TestClient(create_app(monitor_settings(redis_url, jwt_secret))) as client:
        hear(client, redis_client, token, "t1")
        assert not redis_client.exists(keys.monitor_task("t1"))
    assert redis_client.hget(keys.monitor_task("t1"), "state") == b"PENDING"
