"""What every HTTP service's `create_app` does the same way."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry

from sdp_http import health
from sdp_http.handlers import install_error_handlers
from sdp_http.limits import BodyLimit
from sdp_http.metrics import Refresh, install_metrics
from sdp_http.openapi import install_openapi
from sdp_http.settings import HttpSettings

__all__ = ["configure"]


def configure(
    app: FastAPI,
    settings: HttpSettings,
    registry: CollectorRegistry | None = None,
    refresh: Refresh | None = None,
) -> None:
    """Error handlers, the body limit, CORS, health and metrics routes and the token verifier.

    `registry` is the service's own metrics registry (a new one if not given); `refresh` runs
    before each scrape, for gauges read from Redis.
    """
    app.state.settings = settings
    app.state.verifier = settings.verifier()
    install_error_handlers(app)
    install_openapi(app)
    # Added before CORS, so CORS wraps it and a browser can read the 413.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.include_router(health.router)
    install_metrics(app, registry if registry is not None else CollectorRegistry(), refresh)
