"""The auth matrix over every route of the api and the monitor, read from the apps themselves.

Each route's least role is the one its dependencies declare (`sdp_http.auth.required_role`),
so a new route is in the matrix by being added. Public routes are listed here on purpose.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import redis
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from sdp_api.app import create_app as create_api
from sdp_api.settings import ApiSettings
from sdp_core.auth import Role, generate_secret, issue_token
from sdp_core.keys import KOMBU_UNACKED_MUTEX
from sdp_http.auth import required_role
from sdp_monitor.app import create_app as create_monitor
from sdp_monitor.settings import MonitorSettings
from sdp_testing.serving import serve

# The only routes anyone may call without a token: probes, the scrape and the API docs.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}
# Plausible values for every path parameter of either service.
PATH_VALUES = {
    "schedule_id": "6f1c2a9d0b7e4d21",
    "task_id": "0b7e7a3a-0000-4000-8000-000000000000",
    "name": "w@h",
    "queue": "etl",
}
# Bodies for routes whose OpenAPI document gives no example of its own.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/celery/worker/autoscale"): {"max": 2},
    ("POST", "/api/v1/celery/worker/pool/grow"): {"n": 1},
    ("POST", "/api/v1/celery/worker/pool/shrink"): {"n": 1},
    ("POST", "/api/v1/celery/worker/{name}/queues"): {"action": "add", "queue": "etl"},
}
STREAMS = {("GET", "/api/v1/celery/events")}


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    role: Role | None
    body: dict[str, Any] | None

    @property
    def path(self) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], self.template)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def example_body(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    """The operation's first documented example body, or its schema's first example."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return None
    if "examples" in media:
        value: dict[str, Any] = next(iter(media["examples"].values()))["value"]
        return value
    ref = media["schema"].get("$ref", "")
    examples = document["components"]["schemas"].get(ref.rpartition("/")[2], {}).get("examples")
    return examples[0] if examples else None


def routes_of(app: FastAPI) -> list[Route]:
    document = app.openapi()
    found = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        role = None if dependant is None else required_role(dependant)
        for method in sorted((context.methods or set()) - {"HEAD"}):
            assert context.path is not None
            operation = document["paths"].get(context.path, {}).get(method.lower(), {})
            key = (method, context.path)
            body = BODIES.get(key) or example_body(document, operation)
            if operation.get("requestBody", {}).get("required"):
                assert body is not None, f"add a body for {key} to BODIES"
            found.append(Route(method, context.path, role, body))
    return found


SECRET = generate_secret()


def settings_for(service: str, redis_url: str) -> ApiSettings | MonitorSettings:
    if service == "api":
        return ApiSettings(environment="test", jwt_secret=SECRET, redis_url=redis_url)
    return MonitorSettings(
        environment="test", jwt_secret=SECRET, redis_url=redis_url, inspect_timeout_s=0.2
    )


def create(service: str, redis_url: str) -> FastAPI:
    if service == "api":
        return create_api(settings_for(service, redis_url))  # type: ignore[arg-type]
    return create_monitor(settings_for(service, redis_url))  # type: ignore[arg-type]


def b64(part: bytes) -> str:
    return base64.urlsafe_b64encode(part).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token put together by hand, as an attacker would: any header, any signature."""
    encoded = [json.dumps(part).encode() for part in (header, claims)]
    return ".".join([*map(b64, encoded), b64(signature)])


def bad_tokens() -> dict[str, str | None]:
    """Every way a token must fail: 401 whatever the route."""
    now = int(time.time())
    admin = {"sub": "mallory", "role": "admin", "iat": now, "exp": now + 600}
    return {
        "no token": None,
        "not a bearer": "Basic bWFsbG9yeTphZG1pbg==",
        "malformed": "Bearer not-a-jwt",
        "empty bearer": "Bearer",
        "bad signature": f"Bearer {issue_token(generate_secret(), 'mallory', Role.admin)}",
        "HS512 with the right secret": f"Bearer {jwt.encode(admin, SECRET, algorithm='HS512')}",
        "RS256": f"Bearer {unsigned({'alg': 'RS256', 'typ': 'JWT'}, admin, b'x' * 256)}",
        "alg none": f"Bearer {unsigned({'alg': 'none', 'typ': 'JWT'}, admin)}",
        "alg None": f"Bearer {unsigned({'alg': 'None', 'typ': 'JWT'}, admin)}",
        "expired": f"Bearer {issue_token(SECRET, 'late', Role.admin, ttl_s=-60)}",
        "not yet valid": "Bearer " + jwt.encode({**admin, "nbf": now + 600}, SECRET, "HS256"),
        "no role": "Bearer "
        + jwt.encode({k: v for k, v in admin.items() if k != "role"}, SECRET, "HS256"),
        "unknown role": "Bearer " + jwt.encode({**admin, "role": "root"}, SECRET, "HS256"),
        "role as a number": "Bearer " + jwt.encode({**admin, "role": 3}, SECRET, "HS256"),
        "no subject": "Bearer "
        + jwt.encode({k: v for k, v in admin.items() if k != "sub"}, SECRET, "HS256"),
        "no expiry": "Bearer "
        + jwt.encode({k: v for k, v in admin.items() if k != "exp"}, SECRET, "HS256"),
    }


def snapshot(client: redis.Redis) -> dict[bytes, bytes | None]:
    """Every key and its serialized value: what a route's effect would change.

    Not kombu's restore mutex, which the monitor's event consumer holds for a moment now and
    then whatever the requests do.
    """
    keys = sorted(k for k in client.scan_iter(count=1000) if k != KOMBU_UNACKED_MUTEX.encode())
    return {key: client.dump(key) for key in keys}


Send = Callable[[Route, str | None], httpx.Response]


@pytest.fixture(scope="module", params=["api", "monitor"])
def service(request: pytest.FixtureRequest, redis_server_url: str) -> Iterator[tuple[str, str]]:
    app = create(request.param, redis_server_url)
    with serve(app) as url:
        yield request.param, url


@pytest.fixture
def send(service: tuple[str, str], redis_url: str) -> Iterator[Send]:
    _, url = service
    with httpx.Client(base_url=url, timeout=30) as client:

        def call(route: Route, authorization: str | None) -> httpx.Response:
            headers = {} if authorization is None else {"Authorization": authorization}
            kwargs: dict[str, Any] = {"headers": headers}
            if route.body is not None:
                kwargs["json"] = route.body
            if (route.method, route.template) in STREAMS:
                # A stream that is let through never ends: its status line is the answer.
                with client.stream(route.method, route.path, **kwargs) as response:
                    if response.status_code != 200:
                        response.read()
                    return response
            return client.request(route.method, route.path, **kwargs)

        yield call


def protected(service: str) -> list[Route]:
    routes = routes_of(create(service, "redis://127.0.0.1:1/0"))
    public = {(r.method, r.template) for r in routes if r.role is None}
    assert public == PUBLIC, f"public routes changed: {public ^ PUBLIC}; decide on purpose"
    return [r for r in routes if r.role is not None]


def test_every_route_is_public_on_purpose_or_needs_a_role() -> None:
    for service in ("api", "monitor"):
        routes = protected(service)
        assert len(routes) >= 14, (service, [str(r) for r in routes])
    documented = {key for key in BODIES}
    every = {(r.method, r.template) for s in ("api", "monitor") for r in protected(s)}
    assert documented <= every, f"BODIES names routes that no longer exist: {documented - every}"


def test_required_role_reads_nested_dependencies() -> None:
    # The monitor's worker controls take AdminDep through a dependency of their own.
    roles = {str(r): r.role for r in protected("monitor")}
    assert roles["POST /api/v1/celery/worker/autoscale"] is Role.admin
    assert roles["POST /api/v1/celery/task/{task_id}/cancel"] is Role.operator
    assert roles["GET /api/v1/celery/status"] is Role.viewer


def test_every_protected_route_refuses_bad_tokens_and_lower_roles_without_effect(
    service: tuple[str, str], send: Send, redis_client: redis.Redis
) -> None:
    name, _ = service
    tokens = bad_tokens()
    for route in protected(name):
        assert route.role is not None
        before = snapshot(redis_client)
        for label, authorization in tokens.items():
            response = send(route, authorization)
            assert response.status_code == 401, (str(route), label, response.text)
            assert response.json()["error"]["code"] == "unauthorized", (str(route), label)
        for lower in (r for r in Role if r < route.role):
            response = send(route, f"Bearer {issue_token(SECRET, 'low', lower)}")
            assert response.status_code == 403, (str(route), lower.name, response.text)
            error = response.json()["error"]
            assert error["code"] == "forbidden", (str(route), lower.name)
            assert route.role.name in error["message"]
        assert snapshot(redis_client) == before, f"{route} changed Redis without a valid token"
        for enough in (r for r in Role if r >= route.role):
            response = send(route, f"Bearer {issue_token(SECRET, 'ok', enough)}")
            assert response.status_code not in (401, 403), (str(route), enough, response.text)
            assert response.status_code < 500 or response.status_code in (503, 504), (
                str(route),
                enough,
                response.text,
            )
