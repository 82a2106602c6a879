"""Every monitor route's role, token failures, and bad input that changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sdp_core.auth import Role, generate_secret, issue_token
from sdp_monitor.app import create_app
from sdp_testing.auth import Token, auth, bearer

from .support import monitor_settings

TASK = "0b7e7a3a-0000-4000-8000-000000000000"

ROUTES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("GET", "/status", "viewer", None),
    ("GET", "/workers", "viewer", None),
    ("GET", "/tasks", "viewer", None),
    ("GET", f"/task/{TASK}", "viewer", None),
    ("GET", "/queues", "viewer", None),
    ("GET", "/series", "viewer", None),
    ("GET", "/failures", "viewer", None),
    ("GET", "/flower/url", "viewer", None),
    ("GET", "/events", "viewer", None),
    ("POST", f"/task/{TASK}/cancel", "operator", None),
    ("POST", f"/task/{TASK}/retry", "operator", None),
    ("POST", "/tasks/retry", "operator", {"dry_run": True}),
    ("POST", "/worker/shutdown", "admin", None),
    ("POST", "/worker/pool/restart", "admin", None),
    ("POST", "/worker/autoscale", "admin", {"max": 2}),
    ("POST", "/worker/pool/grow", "admin", {"n": 1}),
    ("POST", "/worker/pool/shrink", "admin", {"n": 1}),
    ("POST", "/worker/w@h/queues", "admin", {"action": "add", "queue": "etl"}),
    ("POST", "/queues/etl/purge", "admin", None),
    ("GET", "/audit", "admin", None),
]


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = monitor_settings(redis_url, jwt_secret, flower_url="https://flower.example")
    with TestClient(create_app(settings)) as client:
        yield client


def send(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None, token: str | None
) -> Any:
    headers = bearer(token) if token else {}
    return client.request(method, f"/api/v1/celery{path}", json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "role", "body"), ROUTES)
def test_tokens_and_roles(
    client: TestClient,
    token: Token,
    jwt_secret: str,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any] | None,
) -> None:
    forged = issue_token(generate_secret(), "mallory", Role.admin)
    expired = issue_token(jwt_secret, "late", Role.admin, ttl_s=-60)
    for bad in (None, forged, expired, "not-a-jwt"):
        response = send(client, method, path, body, bad)
        assert response.status_code == 401, (bad, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
    needed = Role.parse(role)
    for lower in (r for r in Role if r < needed):
        response = send(client, method, path, body, token(lower.name))
        assert response.status_code == 403, (lower, response.text)
        assert needed.name in response.json()["error"]["message"]
    if path != "/events":  # a stream that answers never ends
        response = send(client, method, path, body, token(role))
        assert response.status_code not in (401, 403), response.text


def test_health_and_flower_url(client: TestClient, token: Token) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    flower = client.get("/api/v1/celery/flower/url", headers=auth(token, "viewer"))
    assert flower.json() == {"enabled": True, "url": "https://flower.example"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/worker/autoscale", {"max": 2, "min": 5}, "min"),
        ("/worker/autoscale", {"max": 0}, "max"),
        ("/worker/autoscale", {"max": 257}, "max"),
        ("/worker/pool/grow", {"n": 0}, "n"),
        ("/worker/pool/grow", {"n": 256}, "n"),
        ("/worker/pool/shrink", {"n": 1000}, "n"),
        ("/worker/pool/restart", {"workers": "w@h"}, "workers"),
        ("/worker/shutdown", {"everyone": True}, "everyone"),
        ("/worker/w@h/queues", {"action": "drop", "queue": "etl"}, "action"),
        ("/worker/w@h/queues", {"action": "add", "queue": "no spaces"}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "q" * 101}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "-leading"}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "w@h"}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "celeryev"}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "celeryev.1234"}, "queue"),
        ("/worker/w@h/queues", {"action": "cancel", "queue": "celery.pidbox"}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "reply.celery.pidbox"}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "w.celery.pidbox"}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "unacked_index"}, "queue"),
        ("/worker/w@h/queues", {"action": "add", "queue": "sdp:mon:audit"}, "queue"),
        (f"/task/{TASK}/cancel", {"terminate": True, "signal": "SIGNOPE"}, "signal"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: TestClient, token: Token, path: str, body: dict[str, Any], field: str
) -> None:
    response = client.post(f"/api/v1/celery{path}", json=body, headers=auth(token, "admin"))
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]
    audit = client.get("/api/v1/celery/audit", headers=auth(token, "admin")).json()
    assert audit["items"] == []


def test_controls_without_workers_are_503_and_unknown_ones_404(
    client: TestClient, token: Token
) -> None:
    restart = client.post("/api/v1/celery/worker/pool/restart", headers=auth(token, "admin"))
    assert restart.status_code == 503
    assert restart.json()["error"]["message"] == "no worker is online"
    named = client.post(
        "/api/v1/celery/worker/pool/restart",
        json={"workers": ["ghost@h"]},
        headers=auth(token, "admin"),
    )
    assert named.status_code == 404
    assert named.json()["error"]["fields"] == [
        {"field": "workers", "message": "unknown worker ghost@h"}
    ]
    assert (
        client.get(f"/api/v1/celery/task/{TASK}", headers=auth(token, "viewer")).status_code == 404
    )


def test_every_route_taking_a_body_answers_a_malformed_one_alike(
    client: TestClient, token: Token
) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    taking = [
        (method.upper(), path.replace("{task_id}", TASK).replace("{name}", "w@h"))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(taking) >= 7, taking
    bodies = [
        (b"{bad", "application/json", 422, "malformed_body"),
        (b"\xff\xfe", "application/json", 422, "malformed_body"),
        (b'{"n": 1}', "text/plain", 415, "unsupported_media_type"),
    ]
    for method, path in taking:
        operation = paths[path.replace(TASK, "{task_id}").replace("w@h", "{name}")]
        for status, code in (("422", "malformed_body"), ("415", "unsupported_media_type")):
            media = operation[method.lower()]["responses"][status]["content"]["application/json"]
            codes = {e["value"]["error"]["code"] for e in media["examples"].values()}
            assert code in codes, (method, path, status)
        for body, content_type, status_code, code in bodies:
            headers = {**auth(token, "admin"), "Content-Type": content_type}
            response = client.request(method, path, content=body, headers=headers)
            assert response.status_code == status_code, (method, path, body, response.text)
            assert response.json()["error"]["code"] == code
    assert client.get("/api/v1/celery/audit", headers=auth(token, "admin")).json()["items"] == []
