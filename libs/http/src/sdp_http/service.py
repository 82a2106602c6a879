"""What every HTTP service's `create_app` does the same way."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from sdp_http import health
from sdp_http.handlers import install_error_handlers
from sdp_http.settings import HttpSettings

__all__ = ["configure"]


def configure(app: FastAPI, settings: HttpSettings) -> None:
    """Error handlers, CORS, health routes and the token verifier."""
    app.state.settings = settings
    app.state.verifier = settings.verifier()
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.include_router(health.router)
