"""HTTP metrics of a service, and the unauthenticated `/metrics` route that serves its registry.

Requests are labelled by route template (`/api/v1/schedules/{schedule_id}`), never by the raw
path, so ids never become label values; a request that matches no route counts as `unmatched`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HttpMetrics", "Refresh", "install_metrics"]

Refresh = Callable[[Request], Awaitable[None]]

UNMATCHED = "unmatched"
# Request latencies of a JSON API: 1 ms to 10 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """Request counts, latencies and in-flight requests, registered in the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from request to the start of the response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge(
            "http_requests_in_progress", "HTTP requests being answered now.", registry=registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


class _Middleware:
    """Pure ASGI, so streamed responses (SSE) pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        latency: float | None = None

        async def send_status(message: Message) -> None:
            nonlocal status, latency
            if message["type"] == "http.response.start":
                status = message["status"]
                latency = time.perf_counter() - started
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_progress.dec()
            elapsed = latency if latency is not None else time.perf_counter() - started
            self.metrics.observe(scope["method"], _template(scope), status, elapsed)


def _template(scope: Scope) -> str:
    """The matched route's full template, e.g. `/api/v1/schedules/{schedule_id}`."""
    route: BaseRoute | None = scope.get("route")
    template: str | None = getattr(route, "path", None)
    if not template:
        return UNMATCHED
    # A route of an included router carries its own router's path only; the outer routers'
    # prefixes hold no parameters, so they are the request path's leading segments.
    depth = template.count("/")
    return "/".join(scope["path"].split("/")[:-depth]) + template


def install_metrics(app: FastAPI, registry: CollectorRegistry, refresh: Refresh | None) -> None:
    """Count every request into `registry` and serve it on `/metrics` (no token, as SPEC §10)."""
    app.add_middleware(_Middleware, metrics=HttpMetrics(registry))
    router = APIRouter(tags=["metrics"])

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
    )
    async def metrics(request: Request) -> Response:
        if refresh is not None:
            await refresh(request)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
