"""The auth matrix over every route the API serves, taken from the app itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core.auth import Role, generate_secret, issue_token

Token = Callable[[str], str]
OPEN = {"/healthz", "/readyz", "/metrics"}
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


@pytest.fixture(scope="module")
def routes() -> list[tuple[str, str]]:
    app = create_app(ApiSettings(environment="test", jwt_secret=generate_secret()))
    # The OpenAPI document lists every route, including those of included routers.
    found = [
        (method.upper(), path.replace("{schedule_id}", "x").replace("{task_id}", "x"))
        for path, operations in app.openapi()["paths"].items()
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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


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
        if method in WRITES:
            assert viewer.status_code == 403, (method, path, viewer.text)
            assert viewer.json()["error"]["code"] == "forbidden"
        else:
            assert viewer.status_code not in (401, 403), (method, path, viewer.text)
        assert operator.status_code not in (401, 403), (method, path, operator.text)


def test_health_and_metrics_need_no_token(client: TestClient) -> None:
    for path in OPEN:
        assert client.get(path).status_code == 200, path
