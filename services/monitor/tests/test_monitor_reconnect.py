"""The event consumer outlives its broker: it reconnects with backoff and hears events again."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator

from fastapi.testclient import TestClient

from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings
from sdp_monitor.app import create_app
from sdp_monitor.stream.consumer import EventConsumer
from sdp_testing.auth import Token, auth
from sdp_testing.processes import wait_until
from sdp_testing.redis_server import (
    free_port,
    redis_server_args,
    wait_for_redis,
)

from .support import monitor_settings


@contextlib.contextmanager
def redis_process(binary: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server on this very port, so a restart comes back where clients look."""
    with tempfile.TemporaryDirectory(prefix="sdp-redis-") as workdir:
        proc = subprocess.Popen(
            redis_server_args(binary, port, workdir, appendonly=False),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_redis(f"redis://127.0.0.1:{port}/0")
            yield proc
        finally:
            proc.kill()
            proc.wait()


def announce(url: str, name: str) -> None:
    """A worker heartbeat as a worker sends it, without running one."""
    sender = make_celery("test-sender", CommonSettings(redis_url=url))
    with sender.events.default_dispatcher(hostname=name) as dispatcher:
        dispatcher.send("worker-heartbeat", freq=2.0, active=0, processed=0)
    sender.close()


def test_the_event_stream_comes_back_after_a_broker_restart(
    jwt_secret: str, token: Token, redis_server_path: str
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings = monitor_settings(url, jwt_secret, events_backoff_max_s=1.0)
    with (
        redis_process(redis_server_path, port) as first,
        TestClient(create_app(settings)) as client,
    ):
        consumer: EventConsumer = client.app.state.consumer  # type: ignore[attr-defined]

        def workers() -> list[str]:
            body = client.get("/api/v1/celery/workers", headers=auth(token, "viewer")).json()
            return [w["name"] for w in body["items"] if w["online"]]

        wait_until(consumer.connected.is_set, 10, "the event stream")
        announce(url, "before@h")
        wait_until(lambda: workers() == ["before@h"], 10, "the first heartbeat")

        first.kill()
        first.wait()
        wait_until(lambda: not consumer.connected.is_set(), 10, "the loss to be noticed")
        with redis_process(redis_server_path, port):
            wait_until(consumer.connected.is_set, 10, "the event stream to come back")
            announce(url, "after@h")
            wait_until(lambda: "after@h" in workers(), 10, "a heartbeat after the restart")
