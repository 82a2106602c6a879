"""CORS on the real api and monitor apps: only SDP_CORS_ORIGINS's origins, only its policy."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sdp_api.app import create_app as create_api
from sdp_api.settings import ApiSettings
from sdp_core.auth import Role, generate_secret
from sdp_monitor.app import create_app as create_monitor
from sdp_monitor.settings import MonitorSettings
from sdp_testing.auth import auth_headers

DASHBOARD = "https://console.example"
OTHER = "https://evil.example"
SECRET = generate_secret()
# A route of each service that needs a token and nothing from Redis, and a write of each.
READ = {"api": "/api/v1/jobs", "monitor": "/api/v1/celery/flower/url"}
WRITE = {
    "api": ("PUT", "/api/v1/schedules/x"),
    "monitor": ("POST", "/api/v1/celery/worker/shutdown"),
}


def app_for(service: str, origins: str) -> FastAPI:
    common = {"environment": "test", "jwt_secret": SECRET, "cors_origins": origins}
    if service == "api":
        return create_api(ApiSettings(**common))  # type: ignore[arg-type]
    return create_monitor(MonitorSettings(**common))  # type: ignore[arg-type]


@pytest.fixture(params=["api", "monitor"])
def service(request: pytest.FixtureRequest) -> tuple[str, TestClient]:
    # No lifespan: these routes need no Redis, and CORS answers before any route runs.
    return request.param, TestClient(app_for(request.param, f"{DASHBOARD},http://localhost:5501"))


def test_preflight_allows_the_dashboard_only(service: tuple[str, TestClient]) -> None:
    name, client = service
    method, path = WRITE[name]
    allowed = client.options(
        path,
        headers={
            "Origin": DASHBOARD,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == DASHBOARD
    assert method in allowed.headers["access-control-allow-methods"]
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")
    }
    # Tokens travel in a header, never in cookies: the browser is not told to send cookies.
    assert "access-control-allow-credentials" not in allowed.headers
    assert "origin" in allowed.headers["vary"].lower()

    refused = client.options(
        path, headers={"Origin": OTHER, "Access-Control-Request-Method": method}
    )
    assert refused.status_code == 400
    assert not [h for h in refused.headers if h.startswith("access-control-allow-origin")]

    # A header beyond Authorization and Content-Type is not let through, even from the dashboard.
    odd = client.options(
        path,
        headers={
            "Origin": DASHBOARD,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "x-forwarded-user",
        },
    )
    assert odd.status_code == 400


def test_simple_requests_get_the_allow_header_from_the_dashboard_only(
    service: tuple[str, TestClient],
) -> None:
    name, client = service
    token = auth_headers(SECRET, Role.viewer, "cors")
    ours = client.get(READ[name], headers={**token, "Origin": DASHBOARD})
    assert ours.status_code == 200, ours.text
    assert ours.headers["access-control-allow-origin"] == DASHBOARD
    assert "access-control-allow-credentials" not in ours.headers
    theirs = client.get(READ[name], headers={**token, "Origin": OTHER})
    # The server answers (a browser then withholds the body): with no allow header at all.
    assert not [h for h in theirs.headers if h.startswith("access-control-")]
    # Errors carry the header too, so the dashboard can read why it was refused.
    refused = client.get(READ[name], headers={"Origin": DASHBOARD})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == DASHBOARD


@pytest.mark.parametrize("service", ["api", "monitor"])
def test_no_origin_configured_no_cors_at_all(service: str) -> None:
    client = TestClient(app_for(service, ""))
    path = READ[service]
    answer = client.options(
        path, headers={"Origin": DASHBOARD, "Access-Control-Request-Method": "GET"}
    )
    assert not [h for h in answer.headers if h.startswith("access-control-")]
    plain = client.get(path, headers={"Origin": DASHBOARD})
    assert not [h for h in plain.headers if h.startswith("access-control-")]


@pytest.mark.parametrize(
    "origins", ["*", "https://console.example/", "console.example", "https://*.example"]
)
def test_a_wildcard_or_not_an_origin_is_refused(origins: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        ApiSettings(environment="test", jwt_secret=SECRET, cors_origins=origins)
