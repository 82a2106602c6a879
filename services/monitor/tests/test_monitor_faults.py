"""Workers that die, freeze or are told to stop, seen through the monitor."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sdp_monitor.app import create_app
from sdp_testing.auth import Token, auth
from sdp_testing.processes import ServiceProcess, running_worker, wait_until

from .support import monitor_settings

pytestmark = pytest.mark.slow

INSPECT_TIMEOUT_S = 1.0
# Celery's default heartbeat is every 2 s; the monitor counts three missed ones.
OFFLINE_AFTER_S = 2 * 3


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = monitor_settings(redis_url, jwt_secret, inspect_timeout_s=INSPECT_TIMEOUT_S)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def two_workers(redis_url: str) -> Iterator[list[ServiceProcess]]:
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(running_worker(redis_url, concurrency=1, queues="system"))
            for _ in range(2)
        ]


def online(client: TestClient, token: Token) -> dict[str, bool]:
    body: dict[str, Any] = client.get(
        "/api/v1/celery/workers", headers=auth(token, "viewer")
    ).json()
    return {w["name"]: w["online"] for w in body["items"]}


def test_a_killed_worker_is_offline_within_the_heartbeat_timeout(
    client: TestClient, token: Token, two_workers: list[ServiceProcess]
) -> None:
    victim, survivor = two_workers
    wait_until(lambda: len(online(client, token)) == 2, 15, "both workers")
    victim.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: not online(client, token)[victim.name], OFFLINE_AFTER_S + 4, "offline")
    assert time.monotonic() - killed_at > 2  # from missed heartbeats, not a goodbye
    assert online(client, token)[survivor.name] is True
    status = client.get("/api/v1/celery/status", headers=auth(token, "viewer")).json()
    assert status["workers"] == [survivor.name]


@pytest.mark.parametrize(
    "stop_env",
    [
        # `make run` stops a worker with SIGTERM: Celery's warm shutdown.
        {},
        # compose.yaml and deploy/k8s make that SIGTERM a soft, then cold, shutdown.
        {"REMAP_SIGTERM": "SIGQUIT", "SDP_WORKER_SOFT_SHUTDOWN_TIMEOUT_S": "5"},
    ],
    ids=["warm", "soft"],
)
def test_a_killed_worker_is_lost_and_one_stopped_like_a_scaled_down_one_is_not(
    client: TestClient, token: Token, redis_url: str, stop_env: dict[str, str]
) -> None:
    sample = client.app.state.metrics.registry.get_sample_value  # type: ignore[attr-defined]

    def scraped(worker: ServiceProcess) -> tuple[float | None, float | None]:
        client.get("/metrics")
        labels = {"worker": worker.name}
        return sample("celery_worker_up", labels), sample("celery_worker_lost", labels)

    with (
        running_worker(redis_url, concurrency=1, queues="system") as killed,
        running_worker(redis_url, concurrency=1, queues="system", **stop_env) as stopped,
    ):
        wait_until(lambda: len(online(client, token)) == 2, 15, "both workers")
        assert (scraped(killed), scraped(stopped)) == ((1, 0), (1, 0))
        assert stopped.stop() == 0
        killed.signal(signal.SIGKILL)
        wait_until(lambda: scraped(killed) == (0, 1), OFFLINE_AFTER_S + 4, "the killed one lost")
        assert scraped(stopped) == (0, 0)


def test_a_frozen_worker_is_504_by_name_while_status_answers(
    client: TestClient, token: Token, two_workers: list[ServiceProcess]
) -> None:
    frozen, alive = two_workers
    wait_until(lambda: len(online(client, token)) == 2, 15, "both workers")
    frozen.signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = client.post("/api/v1/celery/worker/pool/restart", headers=auth(token, "admin"))
        assert time.monotonic() - started < INSPECT_TIMEOUT_S + 5
        assert response.status_code == 504
        error = response.json()["error"]
        assert error["code"] == "timeout"
        assert frozen.name in error["message"]
        assert [f["message"] for f in error["fields"]] == [f"{frozen.name} did not answer"]
        assert f"answered: {alive.name}" in error["message"]

        started = time.monotonic()
        status = client.get("/api/v1/celery/status", headers=auth(token, "viewer"))
        assert status.status_code == 200
        assert time.monotonic() - started < 1
        audit = client.get("/api/v1/celery/audit", headers=auth(token, "admin")).json()
        assert (audit["items"][0]["action"], audit["items"][0]["result"]) == (
            "worker.pool_restart",
            "timeout",
        )
    finally:
        frozen.signal(signal.SIGCONT)


def test_shutdown_stops_the_named_worker(
    client: TestClient, token: Token, two_workers: list[ServiceProcess]
) -> None:
    target, other = two_workers
    wait_until(lambda: len(online(client, token)) == 2, 15, "both workers")
    response = client.post(
        "/api/v1/celery/worker/shutdown",
        json={"workers": [target.name]},
        headers=auth(token, "admin"),
    )
    assert response.status_code == 200, response.text
    assert [(r["worker"], r["ok"], r["message"]) for r in response.json()["results"]] == [
        (target.name, True, "shutdown sent")
    ]
    wait_until(lambda: not target.alive(), 20, "the worker to exit")
    assert target.proc.returncode == 0
    wait_until(
        lambda: online(client, token) == {target.name: False, other.name: True}, 5, "offline"
    )
