"""Task history in Redis: indexes per filter, cursor paging, retention by count and age."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_core import keys
from sdp_monitor.history.writer import RECORD_BATCH, HistoryWriter
from sdp_testing.auth import Token, auth


def tasks(client: TestClient, token: Token, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/celery/tasks", params=params, headers=auth(token, "viewer"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(client: TestClient, token: Token, **params: Any) -> list[str]:
    return [item["id"] for item in tasks(client, token, **params)["items"]]


def record(writer: HistoryWriter, n: int, at: float, **fields: str) -> str:
    task_id = f"t{n:03}"
    writer.add(task_id, at, fields.pop("state"), fields)
    return task_id


def test_every_filter_is_answered_from_its_index(
    client: TestClient, token: Token, writer: HistoryWriter
) -> None:
    now = time.time()
    expected: dict[str, list[str]] = {}
    for n in range(40):
        fields = {
            "state": ("SUCCESS", "FAILURE", "STARTED", "PENDING")[n % 4],
            "name": ("system.noop", "collect.http")[n % 2],
            "worker": ("w1@h", "w2@h", "w3@h")[n % 3],
            "queue": ("system", "collect", "etl", "reports", "other")[n % 5],
        }
        task_id = record(writer, n, now - 40 + n, **fields)
        for field, value in fields.items():
            expected.setdefault(f"{field}={value}", []).insert(0, task_id)
    writer.flush()

    everything = ids(client, token, limit=500)
    assert everything == [f"t{n:03}" for n in reversed(range(40))]
    for condition, want in expected.items():
        field, value = condition.split("=")
        assert ids(client, token, **{field: value}, limit=500) == want, condition
    both = ids(client, token, state="SUCCESS", worker="w1@h", limit=500)
    assert both == [t for t in expected["state=SUCCESS"] if t in expected["worker=w1@h"]]
    assert both
    window = ids(client, token, since=_iso(now - 30), until=_iso(now - 21), limit=500)
    assert window == [f"t{n:03}" for n in reversed(range(10, 20))]
    item = tasks(client, token, limit=1)["items"][0]
    assert item["name"] == "collect.http"
    assert item["state"] == "PENDING"


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03}Z"


def test_paging_visits_every_task_once_even_when_they_share_a_millisecond(
    client: TestClient, token: Token, writer: HistoryWriter
) -> None:
    at = time.time()
    for n in range(25):
        record(writer, n, at if n < 20 else at + 1, state="SUCCESS", name="system.noop")
    writer.flush()
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 7, "name": "system.noop"}
        if cursor:
            params["cursor"] = cursor
        page = tasks(client, token, **params)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"t{n:03}" for n in range(25)]
    assert len(seen) == 25
    # The five of the later millisecond come first.
    assert set(seen[:5]) == {f"t{n:03}" for n in range(20, 25)}


def test_retention_drops_the_oldest_tasks_from_every_index(
    client: TestClient, token: Token, writer: HistoryWriter, redis_client: redis.Redis
) -> None:
    now = time.time()
    for n in range(10):
        record(writer, n, now - 7_200, state="SUCCESS", name="system.noop", worker="w")
    for n in range(10, 160):
        record(writer, n, now - 160 + n, state="FAILURE", name="system.noop", worker="w")
    writer.flush()
    assert writer.trim() == 60
    kept = ids(client, token, limit=500)
    assert kept == [f"t{n:03}" for n in reversed(range(60, 160))]
    for key in (
        keys.MONITOR_TASKS,
        keys.monitor_index("state", "FAILURE"),
        keys.monitor_index("name", "system.noop"),
        keys.monitor_index("worker", "w"),
    ):
        assert redis_client.zcard(key) == 100, key
    assert not redis_client.exists(keys.monitor_index("state", "SUCCESS"))
    assert not redis_client.exists(keys.monitor_task("t000"))
    assert writer.trim() == 0


def test_a_state_never_goes_back_once_the_task_finished(
    client: TestClient, token: Token, writer: HistoryWriter
) -> None:
    now = time.time()
    writer.add("t1", now, "SUCCESS", {"name": "system.noop"})
    writer.flush()
    writer.add("t1", now - 1, "PENDING", {"queue": "system"})
    writer.add("t1", now - 1, "STARTED", {"worker": "w"})
    writer.flush()
    [item] = tasks(client, token)["items"]
    assert (item["state"], item["queue"], item["worker"]) == ("SUCCESS", "system", "w")
    assert ids(client, token, state="STARTED") == []


def test_a_flush_larger_than_one_record_call_moves_every_task_between_indexes(
    redis_client: redis.Redis,
) -> None:
    writer = HistoryWriter(redis_client, max_tasks=10_000, max_age_s=3_600)
    count = RECORD_BATCH * 2 + 50
    first = time.time() - 60
    for n in range(count):
        writer.add(f"t{n:04}", first + n / 1000, "PENDING", {"name": "job.a", "queue": "etl"})
    assert writer.flush() == count
    for n in range(count):
        writer.add(f"t{n:04}", time.time(), "SUCCESS", {"worker": "w1@h", "runtime": "0.5"})
    assert writer.flush() == count
    assert redis_client.zcard(keys.MONITOR_TASKS) == count
    assert redis_client.zcard(keys.monitor_index("state", "SUCCESS")) == count
    assert redis_client.zcard(keys.monitor_index("worker", "w1@h")) == count
    assert not redis_client.exists(keys.monitor_index("state", "PENDING"))
    last = redis_client.hgetall(keys.monitor_task(f"t{count - 1:04}"))
    assert last[b"state"] == b"SUCCESS"
    assert (last[b"queue"], last[b"worker"], last[b"runtime"]) == (b"etl", b"w1@h", b"0.5")
    # Ordered by first seen, whatever happened later.
    assert int(last[b"score"]) == int((first + (count - 1) / 1000) * 1000)
    newest = redis_client.zrevrange(keys.monitor_index("state", "SUCCESS"), 0, 0)
    assert newest == [f"t{count - 1:04}".encode()]


def test_a_batch_is_written_after_redis_forgot_the_script(
    client: TestClient, token: Token, writer: HistoryWriter, redis_client: redis.Redis
) -> None:
    writer.add("t1", time.time(), "STARTED", {"name": "system.noop", "args": '["ä", 1]'})
    redis_client.script_flush()
    assert writer.flush() == 1
    assert len(writer) == 0
    [item] = tasks(client, token)["items"]
    assert (item["id"], item["state"], item["name"]) == ("t1", "STARTED", "system.noop")
    assert client.get("/api/v1/celery/task/t1", headers=auth(token, "viewer")).json()["args"] == (
        '["ä", 1]'
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "nonsense"}, "cursor"),
        # Digits Redis cannot take as integers were a 500 (the fuzz suite's kind of input).
        ({"cursor": "1764770400000:" + "9" * 30}, "cursor"),
        ({"cursor": "9" * 30 + ":0"}, "cursor"),
        ({"state": "EXPLODED"}, "state"),
        ({"limit": 501}, "limit"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    client: TestClient, token: Token, params: dict[str, Any], field: str
) -> None:
    response = client.get("/api/v1/celery/tasks", params=params, headers=auth(token, "viewer"))
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


def test_a_task_whose_end_went_unheard_shows_the_result_backends_end(
    client: TestClient, token: Token, writer: HistoryWriter
) -> None:
    # Received and started while the monitor listened; it ended while the monitor restarted.
    for n in (1, 2):
        record(writer, n, time.time(), state="STARTED", name="system.noop", worker="w1@h")
    writer.flush()
    client.app.state.celery.backend.store_result("t001", 42, "SUCCESS")  # type: ignore[attr-defined]

    def detail(task_id: str) -> dict[str, Any]:
        response = client.get(f"/api/v1/celery/task/{task_id}", headers=auth(token, "viewer"))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    ended = detail("t001")
    assert (ended["state"], ended["result"], ended["source"]) == ("SUCCESS", "42", "result_backend")
    assert (ended["name"], ended["worker"]) == ("system.noop", "w1@h")
    running = detail("t002")
    assert (running["state"], running["source"]) == ("STARTED", "events")
