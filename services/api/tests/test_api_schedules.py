"""`/api/v1/schedules` on real Redis; the end-to-end case with a real beat and worker."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core import keys
from sdp_schedules.store import ScheduleStore
from sdp_testing.processes import running_worker, spawn, wait_until

Token = Callable[[str], str]
BASE = "/api/v1/schedules"


def schedule_doc(name: str = "orders", **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "task": "collect.http",
        "kwargs": {"url": "https://example.org/orders.json"},
        "trigger": {"type": "interval", "every": 30, "unit": "seconds"},
        **changes,
    }


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = ApiSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def operator(token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('operator')}"}


@pytest.fixture
def viewer(token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('viewer')}"}


def test_create_read_update_delete(
    client: TestClient, operator: dict[str, str], viewer: dict[str, str]
) -> None:
    created = client.post(BASE, json=schedule_doc(), headers=operator)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "active"
    assert body["run_count"] == 0
    assert body["next_run_at"] is not None
    assert body["misfire"] == {"policy": "run_once", "grace_s": 60}
    schedule_id = body["id"]
    assert client.get(f"{BASE}/{schedule_id}", headers=viewer).json() == body

    patched = client.patch(
        f"{BASE}/{schedule_id}",
        json={"trigger": {"type": "interval", "every": 5}},
        headers=operator,
    )
    assert patched.status_code == 200
    assert patched.json()["trigger"]["every"] == 5
    assert patched.json()["kwargs"] == body["kwargs"]

    paused = client.post(f"{BASE}/{schedule_id}/pause", headers=operator).json()
    assert (paused["state"], paused["enabled"], paused["next_run_at"]) == ("paused", False, None)
    resumed = client.post(f"{BASE}/{schedule_id}/resume", headers=operator).json()
    assert resumed["state"] == "active"

    assert client.delete(f"{BASE}/{schedule_id}", headers=operator).status_code == 204
    assert client.get(f"{BASE}/{schedule_id}", headers=viewer).status_code == 404
    assert client.delete(f"{BASE}/{schedule_id}", headers=operator).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"task": "nope.nothing"}, "task"),
        ({"trigger": {"type": "crontab", "minute": "99"}}, "trigger.crontab.minute"),
        ({"trigger": {"type": "crontab", "timezone": "Nowhere/Land"}}, "trigger.crontab.timezone"),
        ({"queue": "elsewhere"}, "queue"),
        ({"kwargs": {}}, "kwargs.url"),
        ({"start_at": "2027-01-02T00:00:00Z", "end_at": "2027-01-01T00:00:00Z"}, "end_at"),
    ],
)
def test_validation_names_the_field(
    client: TestClient, operator: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    answer = client.post(BASE, json=schedule_doc(**changes), headers=operator)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]], error
    assert client.get(BASE, headers=operator).json()["items"] == []


def test_duplicate_names_conflict(client: TestClient, operator: dict[str, str]) -> None:
    assert client.post(BASE, json=schedule_doc(), headers=operator).status_code == 201
    again = client.post(BASE, json=schedule_doc(), headers=operator)
    assert again.status_code == 409
    assert again.json()["error"]["fields"][0]["field"] == "name"


def test_list_filters_and_pages(client: TestClient, operator: dict[str, str]) -> None:
    for n in range(5):
        client.post(BASE, json=schedule_doc(f"orders-{n}"), headers=operator)
    other = client.post(
        BASE,
        json=schedule_doc("sleepy", task="system.sleep", kwargs={"seconds": 1}),
        headers=operator,
    ).json()
    client.post(f"{BASE}/{other['id']}/pause", headers=operator)
    first = client.get(BASE, params={"limit": 2, "name": "orders-"}, headers=operator).json()
    assert [s["name"] for s in first["items"]] == ["orders-0", "orders-1"]
    rest = client.get(
        BASE,
        params={"limit": 10, "name": "orders-", "cursor": first["next_cursor"]},
        headers=operator,
    ).json()
    assert [s["name"] for s in rest["items"]] == ["orders-2", "orders-3", "orders-4"]
    assert rest["next_cursor"] is None
    paused = client.get(BASE, params={"state": "paused"}, headers=operator).json()["items"]
    assert [s["name"] for s in paused] == ["sleepy"]
    by_queue = client.get(BASE, params={"queue": "collect"}, headers=operator).json()["items"]
    assert len(by_queue) == 5
    assert client.get(BASE, params={"limit": 0}, headers=operator).status_code == 422


def test_run_now_is_recorded_and_runs_on_a_worker(
    client: TestClient, operator: dict[str, str], redis_url: str
) -> None:
    created = client.post(
        BASE,
        json=schedule_doc(
            "noop",
            task="system.noop",
            kwargs={},
            trigger={"type": "interval", "every": 1, "unit": "days"},
        ),
        headers=operator,
    ).json()
    with running_worker(redis_url):
        accepted = client.post(f"{BASE}/{created['id']}/run", headers=operator)
        assert accepted.status_code == 202
        task_id = accepted.json()["task_id"]

        def succeeded() -> bool:
            runs = client.get(f"{BASE}/{created['id']}/runs", headers=operator).json()["items"]
            return bool(runs) and runs[0]["state"] == "SUCCESS"

        wait_until(succeeded, 30, "the run to succeed")
    runs = client.get(f"{BASE}/{created['id']}/runs", headers=operator).json()
    assert runs["items"][0]["task_id"] == task_id
    assert client.get(f"{BASE}/{created['id']}", headers=operator).json()["run_count"] == 1
    assert client.post(f"{BASE}/missing/run", headers=operator).status_code == 404


def test_a_schedule_fires_on_a_worker_through_beat(
    client: TestClient, operator: dict[str, str], redis_url: str, redis_client: redis.Redis
) -> None:
    env = {"REDIS_URL": redis_url, "SDP_BEAT_NODE_NAME": "beat-api-test"}
    with (
        running_worker(redis_url),
        spawn([sys.executable, "-m", "sdp_beat"], env, name="beat") as beat,
    ):
        wait_until(lambda: bool(redis_client.exists(keys.BEAT_HEARTBEAT)), 30, "beat to lead")
        created_at = time.time()
        body = client.post(
            BASE,
            json=schedule_doc(
                "every-second",
                task="system.noop",
                kwargs={},
                trigger={"type": "interval", "every": 1},
            ),
            headers=operator,
        ).json()
        path = f"{BASE}/{body['id']}"

        def runs() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = client.get(f"{path}/runs", headers=operator).json()[
                "items"
            ]
            return items

        wait_until(lambda: any(r["state"] == "SUCCESS" for r in runs()), 10, "a run on the worker")
        first = min(datetime.fromisoformat(r["fired_at"]).timestamp() for r in runs())
        assert first - created_at <= 2.0

        client.post(f"{path}/pause", headers=operator)
        paused_at = time.time()
        time.sleep(2.5)
        fired = [datetime.fromisoformat(r["fired_at"]).timestamp() for r in runs()]
        assert max(fired) <= paused_at + 1.0

        client.post(f"{path}/resume", headers=operator)
        wait_until(lambda: len(runs()) > len(fired), 5, "runs after resume")

        assert client.delete(path, headers=operator).status_code == 204
        assert client.get(f"{path}/runs", headers=operator).status_code == 404
        assert beat.alive()


def test_requests_show_on_metrics_by_route_template(
    client: TestClient, operator: dict[str, str]
) -> None:
    created = client.post(BASE, json=schedule_doc(), headers=operator).json()
    assert client.get(f"{BASE}/{created['id']}", headers=operator).status_code == 200
    assert client.get(f"{BASE}/nope", headers=operator).status_code == 404
    text = client.get("/metrics").text
    route = f"{BASE}/{{schedule_id}}"
    assert f'http_requests_total{{method="GET",route="{route}",status="200"}} 1.0' in text
    assert f'http_requests_total{{method="GET",route="{route}",status="404"}} 1.0' in text
    assert f'http_requests_total{{method="POST",route="{BASE}",status="201"}} 1.0' in text
    assert created["id"] not in text


def test_a_schedule_beat_set_aside_shows_why_until_it_is_fixed_resumed_or_deleted(
    client: TestClient, operator: dict[str, str], viewer: dict[str, str], redis_client: redis.Redis
) -> None:
    doc = schedule_doc("unfireable", task="system.noop", kwargs={}, expires_s=30)
    created = client.post(BASE, json=doc, headers=operator).json()
    client.post(BASE, json=schedule_doc("fine"), headers=operator)
    path = f"{BASE}/{created['id']}"
    store = ScheduleStore(redis_client)
    reason = "OverflowError: Python int too large to convert to C int"

    def set_aside() -> None:
        # What beat does with a schedule it cannot fire.
        assert store.set_aside(created["id"], str(store.get(created["id"]).version), reason)

    def counts() -> dict[str, int]:
        status = client.get("/api/v1/scheduler/status", headers=viewer).json()
        return {k: v for k, v in status.items() if k.startswith("schedules_")}

    set_aside()
    shown = client.get(path, headers=viewer).json()
    assert (shown["state"], shown["set_aside_reason"], shown["next_run_at"]) == (
        "set_aside",
        reason,
        None,
    )
    assert shown["set_aside_at"] is not None
    listed = client.get(BASE, params={"state": "set_aside"}, headers=viewer).json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert counts() == {
        "schedules_active": 1,
        "schedules_paused": 0,
        "schedules_finished": 0,
        "schedules_set_aside": 1,
    }

    fixed = client.patch(path, json={"expires_s": 60}, headers=operator).json()
    assert (fixed["state"], fixed["set_aside_at"], fixed["set_aside_reason"]) == (
        "active",
        None,
        None,
    )
    assert fixed["next_run_at"] is not None
    assert counts()["schedules_set_aside"] == 0

    set_aside()
    resumed = client.post(f"{path}/resume", headers=operator).json()
    assert (resumed["state"], resumed["set_aside_reason"]) == ("active", None)
    assert resumed["next_run_at"] is not None

    set_aside()
    assert client.delete(path, headers=operator).status_code == 204
    assert counts()["schedules_set_aside"] == 0
