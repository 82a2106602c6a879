"""Stock Celery clients, stock Flower and the celery CLI against a real platform worker.

The clients here know only the broker URL: no platform transport options, queues or routes.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from celery import Celery

from sdp_core.celery_config import make_celery
from sdp_core.queues import QUEUES, Queue, TaskName
from sdp_core.settings import CommonSettings
from sdp_testing.processes import ServiceProcess, running_worker, spawn, wait_until, worker_env
from sdp_testing.redis_server import free_port


@pytest.fixture
def stock(redis_url: str) -> Iterator[Celery]:
    app = Celery(broker=redis_url, set_as_current=False)
    yield app
    app.close()


@pytest.fixture
def worker(redis_url: str) -> Iterator[ServiceProcess]:
    with running_worker(redis_url, concurrency=1) as worker:
        yield worker


def test_a_stock_client_pings_inspects_and_sends_at_every_priority(
    redis_url: str, stock: Celery, worker: ServiceProcess
) -> None:
    replies = stock.control.ping(destination=[worker.name], timeout=10, limit=1)
    assert replies == [{worker.name: {"ok": "pong"}}]

    queues = stock.control.inspect([worker.name], timeout=10, limit=1).active_queues()
    assert queues is not None
    assert {q["name"] for q in queues[worker.name]} == {q.value for q in QUEUES}

    # A stock client rounds priorities to kombu's four default steps; each must be a list the
    # worker reads, or the task waits for ever with nothing telling anyone.
    sent = {
        p: stock.send_task(TaskName.system_noop.value, queue=Queue.system.value, priority=p).id
        for p in range(10)
    }
    platform = make_celery("test_interop", CommonSettings(redis_url=redis_url))
    try:
        for task_id in sent.values():
            assert platform.AsyncResult(task_id).get(timeout=60) is None
    finally:
        platform.close()
    assert "ValueError" not in worker.log()


def test_the_celery_cli_finds_the_workers_app(redis_url: str, worker: ServiceProcess) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "sdp_worker.app", "inspect", "ping"],
        env={**worker_env(redis_url)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"{worker.name}: OK" in done.stdout
    assert "pong" in done.stdout


def flower_workers(url: str, auth: tuple[str, str]) -> dict[str, Any]:
    try:
        reply = httpx.get(f"{url}/api/workers", params={"refresh": 1}, auth=auth, timeout=30)
    except httpx.TransportError:
        return {}
    workers: dict[str, Any] = reply.json() if reply.status_code == 200 else {}
    return workers


@pytest.mark.slow
def test_stock_flower_inspects_the_worker(redis_url: str, worker: ServiceProcess) -> None:
    port = free_port()
    auth = ("test", secrets.token_urlsafe(12))
    args = [
        *(sys.executable, "-m", "celery", f"--broker={redis_url}", "flower"),
        *(f"--port={port}", "--address=127.0.0.1", f"--basic-auth={':'.join(auth)}"),
        # Flower's default of one second is too short on a loaded test machine.
        "--inspect_timeout=10000",
    ]
    url = f"http://127.0.0.1:{port}"
    with spawn(args, {}, "flower") as flower:

        def inspected() -> bool:
            assert flower.alive(), flower.log()[-4000:]
            return bool(flower_workers(url, auth).get(worker.name, {}).get("active_queues"))

        wait_until(inspected, 90, "Flower's inspection of the worker", interval_s=1)
        seen = flower_workers(url, auth)[worker.name]

    assert {q["name"] for q in seen["active_queues"]} == {q.value for q in QUEUES}
    assert seen["stats"]["pool"]["max-concurrency"] == 1
    assert "ValueError" not in worker.log()
