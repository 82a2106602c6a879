"""Real service processes for tests: started like production, logs kept for failures."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings

__all__ = [
    "ServiceProcess",
    "kubelet_stop",
    "running_worker",
    "spawn",
    "stopped_like_a_pod",
    "wait_until",
]


def wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


@dataclass
class ServiceProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path
    name: str = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout_s: float = 15) -> int:
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.proc.wait()


@contextlib.contextmanager
def spawn(args: list[str], env: Mapping[str, str], name: str = "") -> Iterator[ServiceProcess]:
    """Run a command in its own process group; stop the whole group afterwards."""
    with tempfile.NamedTemporaryFile(
        prefix=f"sdp-{name or 'proc'}-", suffix=".log", delete=False
    ) as log:
        proc = subprocess.Popen(
            args,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = ServiceProcess(proc, Path(log.name), name)
    try:
        yield service
    except BaseException:
        sys.stderr.write(f"--- log of {name or args} ---\n{service.log()[-8000:]}\n")
        raise
    finally:
        service.stop()


def worker_env(redis_url: str, **extra: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "SDP_ENVIRONMENT": "test", "PYTHONUNBUFFERED": "1", **extra}


def ping(redis_url: str, node: str, timeout_s: float = 1.0) -> bool:
    app = make_celery("sdp_testing_ping", CommonSettings(redis_url=redis_url))
    try:
        replies = app.control.ping(destination=[node], timeout=timeout_s, limit=1)
        return any(node in reply for reply in replies or [])
    finally:
        app.close()


@contextlib.contextmanager
def running_worker(
    redis_url: str,
    concurrency: int = 2,
    queues: str = "collect,etl,system",
    command: Sequence[str] = (sys.executable, "-m", "sdp_worker"),
    **env: str,
) -> Iterator[ServiceProcess]:
    """`python -m sdp_worker` (or `command`) on the given Redis; yields once it answers a ping."""
    node = f"test-{uuid.uuid4().hex[:8]}@localhost"
    settings = worker_env(
        redis_url,
        SDP_WORKER_HOSTNAME=node,
        SDP_WORKER_CONCURRENCY=str(concurrency),
        SDP_WORKER_QUEUES=queues,
        **env,
    )
    with spawn(list(command), settings, name=node) as worker:
        wait_until(lambda: not worker.alive() or ping(redis_url, node), 30, f"worker {node}")
        if not worker.alive():
            raise RuntimeError(f"worker exited early:\n{worker.log()[-4000:]}")
        yield worker


def stopped_like_a_pod(soft_shutdown_s: float) -> dict[str, str]:
    """The worker's environment in deploy/k8s/base/worker.yaml, with a shorter timeout."""
    return {"REMAP_SIGTERM": "SIGQUIT", "SDP_WORKER_SOFT_SHUTDOWN_TIMEOUT_S": str(soft_shutdown_s)}


def kubelet_stop(worker: ServiceProcess) -> None:
    """SIGTERM to the main process alone, as a container runtime sends it to PID 1."""
    os.kill(worker.proc.pid, signal.SIGTERM)
