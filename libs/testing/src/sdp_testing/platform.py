"""The whole platform started as `make run` starts it (scripts/run.py), for system tests."""

from __future__ import annotations

import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sdp_core.auth import Role, issue_token
from sdp_testing.processes import ServiceProcess, spawn, wait_until
from sdp_testing.redis_server import free_port

__all__ = ["STUB_INDEX", "Platform", "port_closed", "running_platform"]

# The workspace this package is installed from, editable (libs/testing/src/sdp_testing).
ROOT = Path(__file__).resolve().parents[4]
# The ready program prints its line by then, ready or not (SDP_READY_TIMEOUT_S, 120 s).
READY_LINE_WITHIN_S = 180
# What the platform's Caddy serves here instead of the console's real build.
STUB_INDEX = "<!doctype html><title>SDP console stub</title>"


@dataclass
class Platform:
    process: ServiceProcess
    ports: dict[str, int]
    redis_url: str
    run_dir: Path
    ready_after_s: float

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def monitor(self) -> str:
        return f"http://127.0.0.1:{self.ports['monitor']}"

    @property
    def flower(self) -> str:
        return f"http://127.0.0.1:{self.ports['flower']}"

    def token(self, role: Role) -> dict[str, str]:
        secret = (self.run_dir / "jwt_secret").read_text().strip()
        return {"Authorization": f"Bearer {issue_token(secret, 'system-test', role)}"}

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Stop it as a person (Ctrl-C) or a service manager would: every port closes."""
        if self.process.alive():
            self.process.proc.send_signal(sig)
        code = self.process.proc.wait(timeout=90)
        for port in self.ports.values():
            wait_until(partial(port_closed, port), 10, f"port {port} to close")
        return code


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


@contextmanager
def running_platform(run_dir: Path, redis_url: str | None = None, **env: str) -> Iterator[Platform]:
    """`scripts/run.py` with its own ports; its own redis-server unless `redis_url` answers.

    Caddy serves a stub build (SDP_WEB_DIST), so no Node is needed and nothing is built.
    """
    ports = {name: free_port() for name in ("web", "api", "monitor", "flower")}
    dist = run_dir / "stub-dist"
    dist.mkdir()
    (dist / "index.html").write_text(STUB_INDEX)
    if redis_url is None:
        ports["redis"] = free_port()
        # Nothing answers on this port, so the launcher starts its own redis-server there.
        redis_url = f"redis://127.0.0.1:{ports['redis']}/0"
    env = {
        "REDIS_URL": redis_url,
        "SDP_RUN_DIR": str(run_dir),
        "SDP_API_PORT": str(ports["api"]),
        "SDP_MONITOR_PORT": str(ports["monitor"]),
        "SDP_FLOWER_PORT": str(ports["flower"]),
        "SDP_WEB_PORT": str(ports["web"]),
        "SDP_WEB_DIST": str(dist),
        "SDP_WORKER_HOSTNAME": f"system-{ports['api']}@%h",
        **env,
    }
    started = time.monotonic()
    with spawn([sys.executable, str(ROOT / "scripts" / "run.py")], env, name="platform") as process:
        platform = Platform(process, ports, redis_url, run_dir, ready_after_s=0)
        wait_until(
            lambda: "SDP platform " in process.log() or not process.alive(),
            READY_LINE_WITHIN_S,
            "the ready line",
            interval_s=0.25,
        )
        assert process.alive(), process.log()[-4000:]
        platform.ready_after_s = time.monotonic() - started
        yield platform
        platform.stop()
