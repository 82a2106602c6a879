"""`/api/v1/tasks` against real Redis and a real worker process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core import keys, revocations
from sdp_testing.auth import Token, auth
from sdp_testing.processes import running_worker
from sdp_testing.redis_server import free_port


def settings_for(redis_url: str, secret: str, **extra: Any) -> ApiSettings:
    return ApiSettings(environment="test", jwt_secret=secret, redis_url=redis_url, **extra)


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(redis_url, jwt_secret))) as client:
        yield client


def wait_for_state(
    client: TestClient, token: Token, task_id: str, timeout_s: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, Any] = client.get(
            f"/api/v1/tasks/{task_id}", headers=auth(token, "viewer")
        ).json()
        if body["state"] in ("SUCCESS", "FAILURE") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_submitted_tasks_run_on_a_worker(
    client: TestClient, token: Token, redis_url: str, httpserver: Any
) -> None:
    httpserver.expect_request("/missing").respond_with_data("gone", status=404)
    with running_worker(redis_url):
        accepted = client.post(
            "/api/v1/tasks", json={"task": "system.noop"}, headers=auth(token, "operator")
        )
        assert accepted.status_code == 202
        assert accepted.json()["state"] == "PENDING"
        done = wait_for_state(client, token, accepted.json()["id"])
        assert done["state"] == "SUCCESS"
        assert done["task"] == "system.noop"
        assert done["queue"] == "system"
        assert done["finished_at"] is not None

        failing = client.post(
            "/api/v1/tasks",
            json={"task": "collect.http", "kwargs": {"url": httpserver.url_for("/missing")}},
            headers=auth(token, "operator"),
        )
        failed = wait_for_state(client, token, failing.json()["id"])
        assert failed["state"] == "FAILURE"
        assert "404" in failed["error"]
        assert failed["result"] is None


def test_queued_task_is_pending_not_unknown(
    client: TestClient, token: Token, redis_client: redis.Redis
) -> None:
    first = client.post(
        "/api/v1/tasks",
        json={"task": "system.noop", "priority": 0},
        headers=auth(token, "operator"),
    )
    second = client.post(
        "/api/v1/tasks",
        json={"task": "system.sleep", "args": [1], "priority": 7},
        headers=auth(token, "operator"),
    )
    status = client.get(f"/api/v1/tasks/{first.json()['id']}", headers=auth(token, "viewer"))
    assert status.status_code == 200
    assert status.json()["state"] == "PENDING"
    # No worker runs: the messages sit in the priority step lists of the system queue.
    assert redis_client.llen("system") == 1
    assert redis_client.llen(keys.queue_keys("system")[7]) == 1
    assert second.status_code == 202


def test_unknown_id_is_404(client: TestClient, token: Token) -> None:
    response = client.get(
        "/api/v1/tasks/0b7e7a3a-0000-4000-8000-000000000000", headers=auth(token, "viewer")
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task": "billing.charge"}, "task"),
        ({"task": "collect.http", "kwargs": {"url": "ftp://x"}}, "kwargs.url"),
        ({"task": "collect.http", "kwargs": {}}, "kwargs.url"),
        ({"task": "system.sleep", "args": [1, 2, 3]}, "args"),
        ({"task": "system.noop", "priority": 12}, "priority"),
        ({"task": "system.noop", "queue": "billing"}, "queue"),
        ({"task": "system.noop", "countdown": -1}, "countdown"),
        ({"task": "system.noop", "surprise": True}, "surprise"),
    ],
)
def test_bad_submissions_name_the_field_and_send_nothing(
    client: TestClient, token: Token, redis_client: redis.Redis, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/tasks", json=body, headers=auth(token, "operator"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]]
    assert redis_client.dbsize() == 0


def test_auth_matrix(client: TestClient, token: Token) -> None:
    body = {"task": "system.noop"}
    assert client.post("/api/v1/tasks", json=body).status_code == 401
    assert client.post("/api/v1/tasks", json=body, headers=auth(token, "viewer")).status_code == 403
    assert client.post("/api/v1/tasks", json=body, headers=auth(token, "admin")).status_code == 202
    assert client.get("/api/v1/tasks/x").status_code == 401
    assert client.get("/healthz").status_code == 200


def test_broker_down_is_503_and_leaves_no_record(
    redis_url: str, jwt_secret: str, token: Token, redis_client: redis.Redis
) -> None:
    settings = settings_for(redis_url, jwt_secret, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/tasks", json={"task": "system.noop"}, headers=auth(token, "operator")
        )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert redis_client.keys("sdp:task:*") == []


def test_redis_down_is_503(jwt_secret: str, token: Token) -> None:
    settings = settings_for(f"redis://127.0.0.1:{free_port()}/0", jwt_secret)
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/tasks/some-id", headers=auth(token, "viewer"))
        assert response.status_code == 503
        assert client.get("/readyz").status_code == 503


def test_openapi_documents_errors_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/tasks"]["post"]
    assert {"202", "401", "403", "422", "503"} <= set(post["responses"])
    assert "examples" in spec["components"]["schemas"]["TaskSubmission"]


def test_no_countdown_outlives_a_stored_revocation(
    client: TestClient, token: Token, redis_client: redis.Redis
) -> None:
    """A task cancelled while it waits is still refused by the worker when its time comes."""
    body = {"task": "system.noop", "countdown": revocations.TTL_S}
    response = client.post("/api/v1/tasks", json=body, headers=auth(token, "operator"))
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["countdown"]
    assert redis_client.dbsize() == 0
