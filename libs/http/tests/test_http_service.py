"""The shared HTTP pieces on a small app: error envelope, auth matrix, health."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Gauge
from pydantic import BaseModel, Field

from sdp_core.auth import Role, generate_secret, issue_token
from sdp_http.auth import AdminDep, OperatorDep, ViewerDep
from sdp_http.errors import NotFound
from sdp_http.service import configure
from sdp_http.settings import HttpSettings
from sdp_testing.auth import bearer
from sdp_testing.redis_server import free_port


class Item(BaseModel):
    name: str = Field(min_length=1)
    count: int = Field(ge=0)


def make_app(redis_url: str, secret: str, **settings: Any) -> FastAPI:
    app = FastAPI()
    configure(
        app,
        HttpSettings(environment="test", jwt_secret=secret, redis_url=redis_url, **settings),
    )

    @app.get("/view")
    def view(principal: ViewerDep) -> dict[str, str]:
        return {"role": principal.role.name}

    @app.post("/operate")
    def operate(_: OperatorDep, item: Item) -> Item:
        return item

    @app.post("/administer")
    def administer(_: AdminDep) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/missing")
    def missing() -> None:
        raise NotFound("no such thing")

    @app.get("/redis-down")
    def redis_down() -> None:
        raise redis.ConnectionError("connection refused")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> TestClient:
    return TestClient(make_app(redis_url, jwt_secret), raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("viewer", "/view", 200),
        ("viewer", "/administer", 403),
        ("operator", "/administer", 403),
        ("admin", "/administer", 200),
    ],
)
def test_role_matrix(
    client: TestClient, token: Callable[[str], str], role: str, path: str, status: int
) -> None:
    response = client.request(
        "GET" if path == "/view" else "POST", path, headers=bearer(token(role))
    )
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"


def test_missing_bad_and_expired_tokens_are_401(client: TestClient, jwt_secret: str) -> None:
    missing = client.get("/view")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    forged = client.get("/view", headers=bearer(issue_token(generate_secret(), "x", Role.admin)))
    assert forged.status_code == 401
    expired = client.get(
        "/view", headers=bearer(issue_token(jwt_secret, "x", Role.admin, ttl_s=-60))
    )
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]


def test_validation_errors_name_each_field(client: TestClient, token: Callable[[str], str]) -> None:
    response = client.post(
        "/operate", json={"name": "", "count": -1}, headers=bearer(token("operator"))
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {f["field"] for f in error["fields"]} == {"name", "count"}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "says"),
    [
        (b"{bad", "application/json", 422, "malformed_body", "line 1, column 2"),
        (b'{\n  "name": "a",\n  "count": }', "application/json", 422, "malformed_body", "line 3"),
        (b"\xff\xfe", "application/json", 422, "malformed_body", "not UTF-8"),
        (b'{"name": "\xff", "count": 1}', "application/json", 422, "malformed_body", "byte 10"),
        (b"[" * 100_000, "application/json", 422, "malformed_body", "nested"),
        (b'{"name": "a", "count": 1}', "text/plain", 415, "unsupported_media_type", "text/plain"),
        (b"name=a&count=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""),
        (b'{"name": "a", "count": 1}', None, 415, "unsupported_media_type", "Content-Type"),
    ],
)
def test_malformed_bodies_get_one_documented_answer(
    client: TestClient,
    token: Callable[[str], str],
    body: bytes,
    content_type: str | None,
    status: int,
    code: str,
    says: str,
) -> None:
    headers = bearer(token("operator"))
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/operate", content=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert says in error["message"]
    if status == 415:
        assert "application/json" in error["message"]
    # What the client reads is about its body, never the parser's internals.
    assert "JSON decode error" not in error["message"]
    assert "Input should be" not in error["message"]


def test_a_missing_body_is_422_naming_body(client: TestClient, token: Callable[[str], str]) -> None:
    headers = {**bearer(token("operator")), "Content-Type": "application/json"}
    response = client.post("/operate", headers=headers)
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["body"]
    assert client.post("/operate", json={"name": "a", "count": 1}, headers=headers).json() == {
        "name": "a",
        "count": 1,
    }


def test_openapi_documents_the_malformed_body_422_and_415_where_a_body_is_taken(
    redis_url: str, jwt_secret: str
) -> None:
    paths = make_app(redis_url, jwt_secret).openapi()["paths"]
    taking = paths["/operate"]["post"]["responses"]
    for status, codes in (
        ("422", {"validation_error", "malformed_body"}),
        ("415", {"unsupported_media_type"}),
    ):
        media = taking[status]["content"]["application/json"]
        assert media["schema"]["$ref"].endswith("/ErrorResponse")
        assert {e["value"]["error"]["code"] for e in media["examples"].values()} == codes
    administer = paths["/administer"]["post"]["responses"]
    assert "415" not in administer
    assert "malformed_body" not in administer.get("422", {}).get("content", {}).get(
        "application/json", {}
    ).get("examples", {})


def test_errors_are_json_never_tracebacks(client: TestClient) -> None:
    assert client.get("/missing").json() == {
        "error": {"code": "not_found", "message": "no such thing", "fields": []}
    }
    assert client.get("/no-such-route").json()["error"]["code"] == "not_found"
    down = client.get("/redis-down")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "unavailable"
    boom = client.get("/boom")
    assert boom.status_code == 500
    assert "secret internals" not in boom.text


def test_readyz_follows_redis(redis_url: str, jwt_secret: str) -> None:
    with TestClient(make_app(redis_url, jwt_secret)) as up:
        assert up.get("/healthz").json()["status"] == "ok"
        ready = up.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"redis": "ok"}
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with TestClient(make_app(dead, jwt_secret)) as down:
        assert down.get("/healthz").status_code == 200
        not_ready = down.get("/readyz")
        assert not_ready.status_code == 503
        assert "redis" in not_ready.json()["error"]["message"]


def test_cors_only_for_the_configured_origin(redis_url: str, jwt_secret: str) -> None:
    app = make_app(redis_url, jwt_secret, cors_origins="http://localhost:5501")
    with TestClient(app) as client:
        allowed = client.options(
            "/view",
            headers={"Origin": "http://localhost:5501", "Access-Control-Request-Method": "GET"},
        )
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:5501"
        other = client.options(
            "/view", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in other.headers


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_http_metrics_count_by_route_template_and_status(
    redis_url: str, jwt_secret: str, token: Callable[[str], str]
) -> None:
    registry = CollectorRegistry()
    app = FastAPI()
    configure(
        app,
        HttpSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url),
        registry=registry,
    )

    @app.get("/things/{thing_id}")
    def thing(thing_id: str, _: ViewerDep) -> dict[str, str]:
        return {"id": thing_id}

    with TestClient(app) as client:
        auth = bearer(token("viewer"))
        for thing_id in ("a", "b", "c"):
            assert client.get(f"/things/{thing_id}", headers=auth).status_code == 200
        assert client.get("/things/d").status_code == 401
        assert client.get("/nowhere/at/all").status_code == 404
        scrape = client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    route = "/things/{thing_id}"
    assert sample(registry, "http_requests_total", method="GET", route=route, status="200") == 3
    assert sample(registry, "http_requests_total", method="GET", route=route, status="401") == 1
    assert (
        sample(registry, "http_requests_total", method="GET", route="unmatched", status="404") == 1
    )
    assert sample(registry, "http_request_duration_seconds_count", method="GET", route=route) == 4
    assert sample(registry, "http_requests_in_progress") == 0
    # The scrape's text is the registry's, ids never appear as label values.
    assert 'route="/things/{thing_id}"' in scrape.text
    assert 'route="/things/a"' not in scrape.text


def test_metrics_refresh_runs_before_each_scrape(redis_url: str, jwt_secret: str) -> None:
    registry = CollectorRegistry()
    scrapes = Gauge("scrapes_seen", "Scrapes refreshed.", registry=registry)

    async def refresh(_: Request) -> None:
        scrapes.inc()

    app = FastAPI()
    configure(
        app,
        HttpSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url),
        registry=registry,
        refresh=refresh,
    )
    with TestClient(app) as client:
        client.get("/metrics")
        body = client.get("/metrics").text
    assert "scrapes_seen 2.0" in body
