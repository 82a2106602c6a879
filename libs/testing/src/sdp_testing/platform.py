"""The whole platform started as `make run` starts it (scripts/run.py), for system tests."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx
import redis
from celery.utils.nodenames import host_format
from kombu.exceptions import OperationalError

from sdp_core.auth import Role, issue_token
from sdp_core.heartbeat import read_heartbeat
from sdp_testing.processes import ServiceProcess, ping, spawn, wait_until
from sdp_testing.redis_server import free_port

__all__ = [
    "STUB_INDEX",
    "Platform",
    "all_succeeded",
    "create_schedule",
    "history_ids",
    "not_ready",
    "platform_processes",
    "port_closed",
    "run_count",
    "run_task_ids",
    "running_platform",
    "schedule_ids",
    "service_pid",
    "submit",
    "supervised_pids",
    "supervisorctl",
    "task_states",
    "try_submit",
    "wait_succeeded",
]

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

    @property
    def worker(self) -> str:
        """Its worker's node name."""
        return host_format(worker_node(self.ports["api"], "%h"))

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


def worker_node(api_port: int, host: str) -> str:
    """The platform's worker's node name (`host` "%h" is how Celery is told the host name)."""
    return f"system-{api_port}@{host}"


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
        "SDP_WORKER_HOSTNAME": worker_node(ports["api"], "%h"),
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


# --- the platform's processes -----------------------------------------------------------------


def platform_processes(platform: Platform) -> dict[int, tuple[int, list[bytes]]]:
    """pid -> (parent pid, command line) of each live process the platform started."""
    table: dict[int, tuple[int, list[bytes]]] = {}
    for entry in Path("/proc").iterdir():
        try:
            # The fields after the command name: state is the first, the parent pid the second.
            state, parent = (entry / "stat").read_text().rpartition(")")[2].split()[:2]
            if state != "Z":
                table[int(entry.name)] = (
                    int(parent),
                    (entry / "cmdline").read_bytes().split(b"\0"),
                )
        except (OSError, ValueError):
            continue

    def descends(pid: int) -> bool:
        while pid in table:
            pid = table[pid][0]
            if pid == platform.process.proc.pid:
                return True
        return False

    return {pid: row for pid, row in table.items() if descends(pid)}


def service_pid(platform: Platform, program: str) -> int:
    """The pid of the platform's `python -m <program>` (not its pool's), or its redis-server."""

    def runs(command: list[bytes]) -> bool:
        if program == "redis":
            # Redis rewrites its title to "<binary> <address>".
            return Path(command[0].decode().split()[0]).name == "redis-server"
        return command[1:3] == [b"-m", program.encode()]

    found = {
        pid: parent
        for pid, (parent, command) in platform_processes(platform).items()
        if runs(command)
    }
    mains = [pid for pid, parent in found.items() if parent not in found]
    assert len(mains) == 1, f"{program}: {mains}"
    return mains[0]


def supervisorctl(platform: Platform, *args: str) -> str:
    config = platform.run_dir / "supervisord.conf"
    done = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(config), *args],
        capture_output=True,
        text=True,
        # `start` answers once the program has run for startsecs (60 s).
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


def supervised_pids(platform: Platform) -> dict[str, int]:
    """command line -> pid of each program supervisord runs: its children (supervisorctl shows
    no pid for the first 60 s, while a program is STARTING)."""
    return {
        b" ".join(command).decode(errors="replace").strip(): pid
        for pid, (parent, command) in platform_processes(platform).items()
        if parent == platform.process.proc.pid
    }


def not_ready(client: httpx.Client, platform: Platform, redis_url: str, since: float) -> list[str]:
    """The services not ready: api and monitor /readyz 200, the worker answering a ping, beat
    leading with a tick after `since` (epoch s), the monitor seeing the worker and beat."""

    def answers(url: str) -> dict[str, Any] | None:
        try:
            response = client.get(url, headers=platform.token(Role.viewer))
        except httpx.TransportError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    def beat_ticked() -> bool:
        direct = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            heartbeat = read_heartbeat(direct)
        except redis.RedisError:
            return False
        finally:
            direct.close()
        return heartbeat is not None and heartbeat.leading and heartbeat.last_tick > since

    def worker_answers() -> bool:
        try:
            return ping(redis_url, platform.worker)
        except (redis.RedisError, OSError, OperationalError):  # Redis not back for this client
            return False

    status = answers(f"{platform.monitor}/api/v1/celery/status") or {}
    checks: dict[str, Callable[[], bool]] = {
        "api": lambda: answers(f"{platform.api}/readyz") is not None,
        "monitor": lambda: answers(f"{platform.monitor}/readyz") is not None,
        "worker": worker_answers,
        "beat": beat_ticked,
        "monitor sees the worker": lambda: status.get("workers") == [platform.worker],
        "monitor sees beat": lambda: status.get("beat_running") is True,
    }
    return [name for name, check in checks.items() if not check()]


# --- driven through its REST APIs -------------------------------------------------------------


def try_submit(
    client: httpx.Client,
    platform: Platform,
    statuses: Counter[int],
    task: str = "system.noop",
    kwargs: dict[str, Any] | None = None,
) -> str | None:
    """One submission through the api, its answer counted in `statuses` (0: a dropped
    connection): the task's id when accepted (202), None on a 503 or a drop; else it fails."""
    try:
        response = client.post(
            f"{platform.api}/api/v1/tasks",
            json={"task": task, "kwargs": kwargs or {}},
            headers=platform.token(Role.operator),
        )
    except httpx.TransportError:
        statuses[0] += 1
        return None
    statuses[response.status_code] += 1
    if response.status_code == 202:
        return str(response.json()["id"])
    assert response.status_code == 503, response.text
    return None


def submit(
    client: httpx.Client, platform: Platform, statuses: Counter[int], within_s: float = 60
) -> str:
    """A system.noop through the api, tried again on a 503 or a dropped connection."""
    deadline = time.monotonic() + within_s
    while (task_id := try_submit(client, platform, statuses)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no submission accepted within {within_s} s: {statuses}")
        time.sleep(0.2)
    return task_id


def task_states(
    client: httpx.Client,
    platform: Platform,
    task_ids: list[str],
    via: Literal["api", "monitor"] = "api",
) -> Counter[str]:
    """How many of the tasks are in each state, as the service ``via`` reads them.

    The api reads the result backend; the monitor its history, else the result backend. A
    task the service does not answer for counts under the response's status code.
    """
    task_url = {
        "api": f"{platform.api}/api/v1/tasks",
        "monitor": f"{platform.monitor}/api/v1/celery/task",
    }[via]
    found: Counter[str] = Counter()
    for task_id in task_ids:
        response = client.get(f"{task_url}/{task_id}", headers=platform.token(Role.viewer))
        found[
            response.json()["state"] if response.status_code == 200 else str(response.status_code)
        ] += 1
    return found


def all_succeeded(client: httpx.Client, platform: Platform, task_ids: list[str]) -> bool:
    try:
        return task_states(client, platform, task_ids) == Counter({"SUCCESS": len(task_ids)})
    except httpx.TransportError:
        return False


def wait_succeeded(
    client: httpx.Client, platform: Platform, task_ids: list[str], within_s: float
) -> None:
    """Wait until every task succeeded; fail naming how many are in each state if not."""
    try:
        wait_until(lambda: all_succeeded(client, platform, task_ids), within_s, "", interval_s=0.5)
    except TimeoutError:
        states = task_states(client, platform, task_ids)
        raise AssertionError(f"not every task succeeded within {within_s} s: {states}") from None


def run_count(client: httpx.Client, platform: Platform, schedule_id: str) -> int:
    """How many times the schedule fired; -1 while the api cannot read it (a 503)."""
    try:
        response = client.get(
            f"{platform.api}/api/v1/schedules/{schedule_id}", headers=platform.token(Role.viewer)
        )
    except httpx.TransportError:
        return -1
    if response.status_code == 503:
        return -1
    assert response.status_code == 200, response.text
    return int(response.json()["run_count"])


def create_schedule(client: httpx.Client, platform: Platform, name: str, every_s: int) -> str:
    """A schedule of system.noop firing every `every_s` seconds; its id."""
    created = client.post(
        f"{platform.api}/api/v1/schedules",
        json={
            "name": name,
            "task": "system.noop",
            "trigger": {"type": "interval", "every": every_s, "unit": "seconds"},
        },
        headers=platform.token(Role.operator),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _every_page(client: httpx.Client, platform: Platform, url: str, pages: int) -> list[Any]:
    """Every item of a paged list, following next_cursor for at most `pages` pages."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(pages):
        params: dict[str, str | int] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params=params, headers=platform.token(Role.viewer))
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if (cursor := body["next_cursor"]) is None:
            return items
    raise AssertionError(f"{url} has more than {pages} pages")


def schedule_ids(client: httpx.Client, platform: Platform) -> set[str]:
    return {s["id"] for s in _every_page(client, platform, f"{platform.api}/api/v1/schedules", 20)}


def run_task_ids(client: httpx.Client, platform: Platform, schedule_id: str) -> set[str]:
    """The task ids of the runs the store keeps for the schedule (its newest 100)."""
    url = f"{platform.api}/api/v1/schedules/{schedule_id}/runs"
    return {run["task_id"] for run in _every_page(client, platform, url, 2) if run["task_id"]}


def history_ids(client: httpx.Client, platform: Platform) -> set[str]:
    """The ids of every task in the monitor's history."""
    url = f"{platform.monitor}/api/v1/celery/tasks"
    return {task["id"] for task in _every_page(client, platform, url, 40)}
