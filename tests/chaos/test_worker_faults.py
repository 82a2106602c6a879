"""Worker processes killed or stopped mid-task lose no task, and a task that finished never runs
again; a task cancelled while no worker is online never runs.

Real workers on a real Redis: `counting_worker.py` is the platform's worker plus `chaos.count`,
a test-only task that is not idempotent (each run appends a start and an end line to a ledger
file). Every catalogue job is idempotent: collect.http and etl.transform overwrite the key
named after their task id, system.cleanup and the noop and sleep change nothing twice. With
acks_late and reject_on_worker_lost a run cut short is delivered again by design, so what is
counted is that each task ends exactly once, that nothing starts after a task's end, and that
exactly the runs that were cut short start a second time.

services/worker/tests/test_worker_shutdown.py covers the stop of a single task as Kubernetes
stops it; here whole batches are stopped both ways, with their runs counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from celery import Celery
from celery.result import AsyncResult

from sdp_core import keys
from sdp_core.auth import Role
from sdp_core.celery_config import make_celery
from sdp_core.queues import QUEUES
from sdp_core.settings import CommonSettings
from sdp_testing.auth import auth_headers
from sdp_testing.processes import (
    ServiceProcess,
    kubelet_stop,
    running_worker,
    spawn,
    stopped_like_a_pod,
    wait_until,
)
from sdp_testing.redis_server import free_port

# Past SETTLE_S and the waits before it, on a machine busy with the rest of `make test`.
pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.timeout(360)]

WORKER = (sys.executable, str(Path(__file__).with_name("counting_worker.py")))
# counting_worker.TASK: the worker registers it, the product's catalogue does not.
TASK = "chaos.count"
VISIBILITY_TIMEOUT_S = 10
FAST_RESTORE = {"SDP_VISIBILITY_TIMEOUT_S": str(VISIBILITY_TIMEOUT_S)}
# A run is cut short only this soon after it started, so it is seconds from its end when the
# signal lands, however slow the shared machine: RUN_S exceeds it by far.
FRESH_S = 1.5
RUN_S = 6.0
SETTLE_S = 180


@dataclass(frozen=True, slots=True)
class Line:
    kind: str
    task_id: str
    pid: int
    at: float


class Ledger:
    """The ledger file the counting task appends to, read afresh on every question."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[Line]:
        if not self.path.exists():
            return []
        lines = []
        for raw in self.path.read_text().splitlines():
            kind, task_id, pid, at = raw.split()
            lines.append(Line(kind, task_id, int(pid), float(at)))
        return lines

    def of(self, task_id: str, kind: str) -> list[Line]:
        return [line for line in self.lines() if line.task_id == task_id and line.kind == kind]

    def ended(self) -> set[str]:
        return {line.task_id for line in self.lines() if line.kind == "end"}

    def fresh(self, parent: int) -> list[Line]:
        """Runs in children of `parent` that started less than FRESH_S ago and go on."""
        lines = self.lines()
        done = {(line.task_id, line.pid) for line in lines if line.kind == "end"}
        return [
            line
            for line in lines
            if line.kind == "start"
            and (line.task_id, line.pid) not in done
            and time.time() - line.at < FRESH_S
            and parent_of(line.pid) == parent
        ]


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: the fields after it are fixed.
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.fixture
def client_app(redis_url: str) -> Iterator[Celery]:
    app = make_celery("test-chaos-client", CommonSettings(redis_url=redis_url))
    yield app
    app.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger")


def submit(app: Celery, ledger: Ledger, count: int) -> list[AsyncResult[Any]]:
    return [
        app.send_task(TASK, args=[str(ledger.path), RUN_S], queue="system") for _ in range(count)
    ]


def held(client: redis.Redis) -> set[str]:
    """Ids of the task messages delivered and not yet acknowledged."""
    return {json.loads(raw)[0]["headers"]["id"] for raw in client.hvals(keys.kombu_unacked())}


def broker_empty(client: redis.Redis) -> bool:
    queued = any(client.llen(key) for queue in QUEUES for key in keys.queue_keys(queue))
    return not queued and not client.hlen(keys.kombu_unacked())


def all_succeed(results: list[AsyncResult[Any]], client: redis.Redis) -> None:
    """Every task SUCCESS, counted, and every message acknowledged: nothing is left to rerun."""
    wait_until(lambda: all(r.ready() for r in results), SETTLE_S, "every task to finish")
    assert [r.state for r in results] == ["SUCCESS"] * len(results)
    wait_until(lambda: broker_empty(client), 30, "every message to be acknowledged")


def finished_once(ledger: Ledger, results: list[AsyncResult[Any]], cut: set[str]) -> None:
    """Each task ended once, nothing started after its end, only the `cut` runs started twice."""
    for result in results:
        starts, ends = ledger.of(result.id, "start"), ledger.of(result.id, "end")
        assert len(ends) == 1, (result.id, ends)
        assert max(line.at for line in starts) <= ends[0].at
        assert len(starts) == (2 if result.id in cut else 1), (result.id, starts)
        # The result is the pid that ran the task to its end.
        assert result.result == ends[0].pid


def cut_short(ledger: Ledger, worker: ServiceProcess, count: int, timeout_s: float) -> list[Line]:
    """Wait until `count` runs in the worker's children are fresh; they are the ones to stop."""
    wait_until(
        lambda: len(ledger.fresh(worker.proc.pid)) >= count, timeout_s, f"{count} fresh runs"
    )
    return ledger.fresh(worker.proc.pid)[:count]


def test_pool_processes_killed_mid_task_rerun_only_the_runs_they_cut_short(
    client_app: Celery, redis_url: str, redis_client: redis.Redis, ledger: Ledger
) -> None:
    results = submit(client_app, ledger, 12)
    victims: list[Line] = []

    def untouched() -> list[Line]:
        return [
            line
            for line in ledger.fresh(worker.proc.pid)
            if line.task_id not in {victim.task_id for victim in victims}
        ]

    with running_worker(redis_url, concurrency=3, command=WORKER) as worker:
        for _ in range(3):
            wait_until(lambda: bool(untouched()), 60, "a fresh run of a task not cut yet")
            victims.append(untouched()[0])
            os.kill(victims[-1].pid, signal.SIGKILL)
        all_succeed(results, redis_client)
        assert worker.alive()
    finished_once(ledger, results, {victim.task_id for victim in victims})
    for victim in victims:
        assert ledger.of(victim.task_id, "end")[0].pid != victim.pid


@pytest.mark.parametrize("kill", ["container", "main process"])
def test_a_killed_worker_s_tasks_come_back_after_the_visibility_timeout_and_run_once_more(
    client_app: Celery, redis_url: str, redis_client: redis.Redis, ledger: Ledger, kill: str
) -> None:
    """SIGKILL of the whole process group (a container's or a host's end), or of the main
    process alone (its pool children then die before they finish); a new worker takes over."""
    results = submit(client_app, ledger, 8)
    with running_worker(redis_url, concurrency=2, command=WORKER, **FAST_RESTORE) as doomed:
        wait_until(lambda: len(ledger.ended()) >= 2, 60, "a first round to end")
        wait_until(
            lambda: (
                len(ledger.fresh(doomed.proc.pid)) == 2 and not held(redis_client) & ledger.ended()
            ),
            60,
            "a second round to start, the first acknowledged",
        )
        running = {line.task_id for line in ledger.fresh(doomed.proc.pid)}
        assert running <= held(redis_client)
        doomed_pids = {line.pid for line in ledger.lines()}
        if kill == "container":
            doomed.signal(signal.SIGKILL)
        else:
            os.kill(doomed.proc.pid, signal.SIGKILL)
        doomed.proc.wait(timeout=30)
    try:
        with running_worker(redis_url, concurrency=2, command=WORKER, **FAST_RESTORE):
            all_succeed(results, redis_client)
    finally:
        # Orphaned pool children, if any outlived their parent, go with the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(doomed.proc.pid, signal.SIGKILL)
    finished_once(ledger, results, running)
    for task_id in running:
        assert ledger.of(task_id, "end")[0].pid not in doomed_pids


@pytest.mark.parametrize("stop", ["warm", "pod"])
def test_a_worker_stopped_mid_task_finishes_or_hands_back_every_task(
    client_app: Celery, redis_url: str, redis_client: redis.Redis, ledger: Ledger, stop: str
) -> None:
    """SIGTERM to the main process as a scale-down sends it: a warm shutdown (compose, no
    remap) lets its runs end; with REMAP_SIGTERM=SIGQUIT and a soft shutdown shorter than the
    runs (deploy/k8s) it hands them back to the queue, and the other worker runs them."""
    env = stopped_like_a_pod(soft_shutdown_s=1) if stop == "pod" else {}
    # Three rounds on four processes: three chances to catch both of one worker's runs fresh.
    results = submit(client_app, ledger, 12)
    with running_worker(redis_url, concurrency=2, command=WORKER, **env) as survivor:
        with running_worker(redis_url, concurrency=2, command=WORKER, **env) as doomed:
            stopped = {line.task_id for line in cut_short(ledger, doomed, 2, 60)}
            doomed_pids = {
                line.pid for line in ledger.lines() if parent_of(line.pid) == doomed.proc.pid
            }
            kubelet_stop(doomed)
            assert doomed.proc.wait(timeout=60) == 0
        all_succeed(results, redis_client)
        assert survivor.alive()
    finished_once(ledger, results, stopped if stop == "pod" else set())
    for task_id in stopped:
        ended_by = ledger.of(task_id, "end")[0].pid
        if stop == "warm":
            assert ended_by == ledger.of(task_id, "start")[0].pid
        else:
            assert ended_by not in doomed_pids


def cancel_through_the_monitor(monitor: str, secret: str, task_id: str) -> dict[str, Any]:
    headers = auth_headers(secret, Role.operator, "chaos")
    response = httpx.post(f"{monitor}/api/v1/celery/task/{task_id}/cancel", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def known_to(monitor: str, secret: str, task_id: str) -> str | None:
    """The task's state in the monitor's history; None while the monitor does not know it."""
    headers = auth_headers(secret, Role.viewer, "chaos")
    response = httpx.get(f"{monitor}/api/v1/celery/task/{task_id}", headers=headers)
    return str(response.json()["state"]) if response.status_code == 200 else None


@pytest.fixture
def monitor(redis_url: str, jwt_secret: str) -> Iterator[str]:
    """`python -m sdp_monitor` on the test's Redis; yields its URL once it answers."""
    port = free_port()
    env = {
        "REDIS_URL": redis_url,
        "SDP_ENVIRONMENT": "test",
        "SDP_JWT_SECRET": jwt_secret,
        "SDP_MONITOR_PORT": str(port),
        "SDP_MONITOR_HISTORY_FLUSH_S": "0.05",
    }
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    with spawn([sys.executable, "-m", "sdp_monitor"], env, name="monitor") as process:
        wait_until(lambda: not process.alive() or ready(), 60, "the monitor to answer")
        assert process.alive(), process.log()[-4000:]
        yield url


def test_a_task_cancelled_while_no_worker_is_online_never_runs(
    client_app: Celery,
    redis_url: str,
    redis_client: redis.Redis,
    ledger: Ledger,
    monitor: str,
    jwt_secret: str,
) -> None:
    # The monitor hears events once its consumer has connected: a noop a second until it knows one.
    probes: list[str] = []

    def heard() -> bool:
        if any(known_to(monitor, jwt_secret, probe) for probe in probes[-3:]):
            return True
        probes.append(client_app.send_task("system.noop").id)
        return False

    wait_until(heard, 60, "the monitor to hear events", interval_s=1)
    cancelled = submit(client_app, ledger, 1)[0]
    wait_until(lambda: known_to(monitor, jwt_secret, cancelled.id) == "PENDING", 20, "the sent")
    answer = cancel_through_the_monitor(monitor, jwt_secret, cancelled.id)
    assert (answer["state"], answer["workers"]) == ("REVOKED", [])
    # Queued behind it on the same queue: once this one ends, the cancelled one was taken.
    after = submit(client_app, ledger, 1)
    with running_worker(redis_url, concurrency=1, command=WORKER):
        all_succeed(after, redis_client)
        wait_until(lambda: str(cancelled.state) == "REVOKED", 30, "the cancelled task's state")
    assert ledger.of(cancelled.id, "start") == []
    assert known_to(monitor, jwt_secret, cancelled.id) == "REVOKED"
