"""The auth matrix over every route the API serves, and what a malformed body gets on every
route that takes one, both taken from the app itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core.auth import Role, generate_secret, issue_token
from sdp_testing.auth import Token, bearer

OPEN = {"/healthz", "/readyz", "/metrics"}
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
# POSTs that change nothing, so a viewer may make them.
POSTED_READS = {"/api/v1/schedules/preview"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    openapi: dict[str, Any] = create_app(
        ApiSettings(environment="test", jwt_secret=generate_secret())
    ).openapi()
    return openapi


def concrete(path: str) -> str:
    return path.replace("{schedule_id}", "x").replace("{task_id}", "x")


@pytest.fixture(scope="module")
def routes(document: dict[str, Any]) -> list[tuple[str, str]]:
    # The OpenAPI document lists every route, including those of included routers.
    found = [
        (method.upper(), concrete(path))
        for path, operations in document["paths"].items()
        if path not in OPEN
        for method in operations
    ]
    assert len(found) >= 12, found
    return found


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = ApiSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        yield client


def test_every_route_needs_a_valid_token(
    client: TestClient, routes: list[tuple[str, str]], jwt_secret: str
) -> None:
    forged = issue_token(generate_secret(), "mallory", Role.admin)
    expired = issue_token(jwt_secret, "late", Role.admin, ttl_s=-60)
    for method, path in routes:
        for headers in ({}, bearer(forged), bearer(expired), {"Authorization": "Basic eDp5"}):
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.json()["error"]["code"] == "unauthorized"


def test_writes_need_an_operator_and_reads_a_viewer(
    client: TestClient, routes: list[tuple[str, str]], token: Token
) -> None:
    for method, path in routes:
        viewer = client.request(method, path, headers=bearer(token("viewer")), json={})
        operator = client.request(method, path, headers=bearer(token("operator")), json={})
        if method in WRITES and path not in POSTED_READS:
            assert viewer.status_code == 403, (method, path, viewer.text)
            assert viewer.json()["error"]["code"] == "forbidden"
        else:
            assert viewer.status_code not in (401, 403), (method, path, viewer.text)
        assert operator.status_code not in (401, 403), (method, path, operator.text)


def test_health_and_metrics_need_no_token(client: TestClient) -> None:
    for path in OPEN:
        assert client.get(path).status_code == 200, path


def test_every_route_taking_a_body_answers_a_malformed_one_alike(
    client: TestClient, document: dict[str, Any], token: Token
) -> None:
    taking = [
        (method.upper(), concrete(path))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert {("POST", "/api/v1/tasks"), ("POST", "/api/v1/schedules")} <= set(taking)
    bodies = [
        (b"{bad", "application/json", 422, "malformed_body"),
        (b"\xff\xfe", "application/json", 422, "malformed_body"),
        (b'{"task": "system.noop"}', "text/plain", 415, "unsupported_media_type"),
    ]
    for method, path in taking:
        for body, content_type, status, code in bodies:
            headers = {**bearer(token("operator")), "Content-Type": content_type}
            response = client.request(method, path, content=body, headers=headers)
            assert response.status_code == status, (method, path, body, response.text)
            error = response.json()["error"]
            assert error["code"] == code, (method, path, body)
            assert error["message"].startswith(
                "request body is not" if status == 422 else "Content-Type text/plain"
            ), error
    nothing_sent = client.post("/api/v1/tasks", headers=bearer(token("operator")))
    assert nothing_sent.status_code == 422
    assert [f["field"] for f in nothing_sent.json()["error"]["fields"]] == ["body"]
