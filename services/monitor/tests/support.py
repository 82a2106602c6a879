"""Helpers of the monitor's tests: quick settings, a real server for SSE, events on Redis."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import redis
import uvicorn
from fastapi import FastAPI

from sdp_monitor.settings import MonitorSettings
from sdp_testing.processes import wait_until
from sdp_testing.redis_server import free_port

Token = Callable[[str], str]


def monitor_settings(redis_url: str, jwt_secret: str, **overrides: Any) -> MonitorSettings:
    """Production defaults, but queues discovered and history written without delay."""
    values: dict[str, Any] = {
        "environment": "test",
        "jwt_secret": jwt_secret,
        "redis_url": redis_url,
        "queue_discovery_s": 0.2,
        "history_flush_s": 0.05,
        **overrides,
    }
    return MonitorSettings(**values)


def auth(token: Token, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role)}"}


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app behind a real uvicorn on a free port (streams need one); yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="monitor-under-test", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), 20, "the monitor to start")
        if not server.started:
            raise RuntimeError("the monitor did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


def event(kind: str, task_id: str, at: float, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "uuid": task_id, "timestamp": at, **fields}


def publish_events(client: redis.Redis, events: object) -> None:
    """One event message as kombu puts it on the Redis fanout: a base64 body in an envelope."""
    body = base64.b64encode(json.dumps(events).encode()).decode()
    envelope = {
        "body": body,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"hostname": "w"},
        "properties": {"body_encoding": "base64", "delivery_info": {"exchange": "celeryev"}},
    }
    client.publish("/0.celeryev/task.multi", json.dumps(envelope))
