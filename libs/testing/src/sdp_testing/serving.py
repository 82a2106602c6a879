"""An ASGI app behind a real uvicorn in a thread, for tests that need real HTTP."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from sdp_testing.processes import wait_until
from sdp_testing.redis_server import free_port

__all__ = ["serve"]


@contextlib.contextmanager
def serve(app: ASGIApp, name: str = "app-under-test") -> Iterator[str]:
    """The app on a free port, its lifespan run; yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), 20, f"{name} to start")
        if not server.started:
            raise RuntimeError(f"{name} did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
