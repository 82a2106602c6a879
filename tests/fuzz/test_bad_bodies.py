"""Every operation that takes a body, listed from each app's own document so a new one is
covered by itself, answers a bad body in the error envelope naming `body`: never a 5xx, never a
parser's offset as a field. Against the services on real servers and Redis, with a small body
limit, which holds for a declared length and for a chunked body alike."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sdp_api.app import create_app as api_app
from sdp_api.settings import ApiSettings
from sdp_http.settings import MAX_BODY_BYTES
from sdp_monitor.app import create_app as monitor_app
from sdp_monitor.settings import MonitorSettings
from sdp_testing.serving import serve

from .support import admin

LIMIT = 4096
APPS: dict[str, Callable[..., FastAPI]] = {
    "api": lambda **s: api_app(ApiSettings(**s)),
    "monitor": lambda **s: monitor_app(MonitorSettings(**s)),
}


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    required: bool


def operations(app: FastAPI) -> list[Operation]:
    """Each operation whose document says it takes a body; path parameters filled in."""
    return [
        Operation(
            method.upper(),
            re.sub(r"\{[^}]+\}", "x", path),
            op["requestBody"].get("required", False),
        )
        for path, methods in app.openapi()["paths"].items()
        for method, op in methods.items()
        if "requestBody" in op
    ]


@pytest.fixture(scope="module", params=sorted(APPS))
def service(
    request: pytest.FixtureRequest, redis_server_url: str, jwt_secret: str
) -> Iterator[tuple[str, list[Operation]]]:
    app = APPS[request.param](
        environment="test", jwt_secret=jwt_secret, redis_url=redis_server_url, max_body_bytes=LIMIT
    )
    with serve(app, f"{request.param}-under-test") as url:
        yield url, operations(app)


@pytest.fixture(scope="module")
def client(jwt_secret: str) -> Iterator[httpx.Client]:
    with httpx.Client(headers=admin(jwt_secret), timeout=30) as session:
        yield session


def body_error(response: httpx.Response, status: int, code: str) -> str:
    """The envelope's message, once it names the body and only the body."""
    assert response.status_code == status, (response.request.url, response.text)
    error = response.json()["error"]
    assert error["code"] == code, error
    assert [f["field"] for f in error["fields"]] == ["body"], error
    return str(error["message"])


BAD_JSON = [
    (b'{"name": "x",', "not JSON", "line 1, column 14"),
    (b'{"name": "\xff\xfe"}', "not UTF-8", "byte 10"),
    (b'{"name": "x", "n": }', "not JSON", "line 1"),
]


# One operation each service must list, so an empty list cannot pass the tests below.
KNOWN = {("POST", "/api/v1/schedules"), ("POST", "/api/v1/celery/worker/pool/grow")}


def test_the_list_is_the_documents(service: tuple[str, list[Operation]]) -> None:
    _, taking = service
    assert len(KNOWN & {(o.method, o.path) for o in taking}) == 1, taking


@pytest.mark.parametrize(("raw", "what", "where"), BAD_JSON)
def test_a_body_that_is_not_json_is_422_naming_the_body(
    service: tuple[str, list[Operation]], client: httpx.Client, raw: bytes, what: str, where: str
) -> None:
    url, taking = service
    for op in taking:
        sent = client.request(
            op.method, url + op.path, content=raw, headers={"Content-Type": "application/json"}
        )
        message = body_error(sent, 422, "malformed_body")
        assert what in message and where in message, (op, message)


def test_a_json_array_where_an_object_is_taken_is_422_naming_the_body(
    service: tuple[str, list[Operation]], client: httpx.Client
) -> None:
    url, taking = service
    for op in taking:
        body_error(client.request(op.method, url + op.path, json=[1, 2]), 422, "validation_error")


def test_an_empty_body_is_422_naming_the_body_where_one_is_required(
    service: tuple[str, list[Operation]], client: httpx.Client
) -> None:
    url, taking = service
    required = [op for op in taking if op.required]
    assert required
    for op in required:
        sent = client.request(
            op.method, url + op.path, content=b"", headers={"Content-Type": "application/json"}
        )
        body_error(sent, 422, "validation_error")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_another_content_type_is_415_naming_the_body(
    service: tuple[str, list[Operation]], client: httpx.Client, content_type: str | None
) -> None:
    url, taking = service
    headers = {"Content-Type": content_type} if content_type else {}
    for op in taking:
        sent = client.request(op.method, url + op.path, content=b'{"a": 1}', headers=headers)
        assert "application/json" in body_error(sent, 415, "unsupported_media_type")


def oversized() -> Iterator[bytes]:
    """A body past the limit, in chunks; unterminated JSON, so parsing it first would be a 422."""
    yield b'{"padding": "'
    for _ in range(LIMIT // 1024 + 1):
        yield b"x" * 1024


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    service: tuple[str, list[Operation]], client: httpx.Client, chunked: bool
) -> None:
    url, taking = service
    for op in taking:
        content: Any = oversized() if chunked else b"".join(oversized())
        sent = client.request(
            op.method, url + op.path, content=content, headers={"Content-Type": "application/json"}
        )
        assert ("content-length" not in sent.request.headers) == chunked
        assert str(LIMIT) in body_error(sent, 413, "payload_too_large")


def test_a_body_at_the_limit_is_read(
    service: tuple[str, list[Operation]], client: httpx.Client
) -> None:
    """The limit refuses only what is past it: a body of exactly LIMIT bytes gets its answer."""
    url, taking = service
    body = b"[" + b" " * (LIMIT - 2) + b"]"
    op = taking[0]
    sent = client.request(
        op.method, url + op.path, content=body, headers={"Content-Type": "application/json"}
    )
    body_error(sent, 422, "validation_error")


def test_the_default_limit_is_documented_on_every_body() -> None:
    for make in APPS.values():
        app = make(environment="development")
        for path, methods in app.openapi()["paths"].items():
            for method, op in methods.items():
                if "requestBody" in op:
                    assert "413" in op["responses"], (method, path)
        assert app.state.settings.max_body_bytes == MAX_BODY_BYTES


def test_each_service_reads_its_limit_under_its_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDP_API_MAX_BODY_BYTES", "10")
    monkeypatch.setenv("SDP_MONITOR_MAX_BODY_BYTES", "20")
    assert ApiSettings(environment="development").max_body_bytes == 10
    assert MonitorSettings(environment="development").max_body_bytes == 20
