"""The whole platform started the way `make run` starts it, driven through its HTTP APIs."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from sdp_core.auth import Role, issue_token
from sdp_testing.processes import ServiceProcess, spawn, wait_until
from sdp_testing.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_WITHIN_S = 60

pytestmark = [pytest.mark.system, pytest.mark.slow]


@dataclass
class Platform:
    process: ServiceProcess
    api: str
    monitor: str
    flower: str
    run_dir: Path
    ready_after_s: float

    def token(self, role: Role) -> dict[str, str]:
        secret = (self.run_dir / "jwt_secret").read_text().strip()
        return {"Authorization": f"Bearer {issue_token(secret, 'system-test', role)}"}


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    run_dir = tmp_path_factory.mktemp("run")
    ports = {name: free_port() for name in ("redis", "api", "monitor", "flower")}
    env = {
        # Nothing answers on this port, so the launcher starts its own redis-server there.
        "REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
        "SDP_RUN_DIR": str(run_dir),
        "SDP_API_PORT": str(ports["api"]),
        "SDP_MONITOR_PORT": str(ports["monitor"]),
        "SDP_FLOWER_PORT": str(ports["flower"]),
        "SDP_WORKER_HOSTNAME": f"system-{ports['api']}@%h",
    }
    started = time.monotonic()
    with spawn([sys.executable, str(ROOT / "scripts" / "run.py")], env, name="platform") as process:
        wait_until(
            lambda: "SDP platform ready" in process.log() or not process.alive(),
            READY_WITHIN_S,
            "the ready line",
            interval_s=0.25,
        )
        assert process.alive(), process.log()[-4000:]
        yield Platform(
            process=process,
            api=f"http://127.0.0.1:{ports['api']}",
            monitor=f"http://127.0.0.1:{ports['monitor']}",
            flower=f"http://127.0.0.1:{ports['flower']}",
            run_dir=run_dir,
            ready_after_s=time.monotonic() - started,
        )
        # Ctrl-C, as a person would, must take every process down.
        process.proc.send_signal(signal.SIGINT)
        process.proc.wait(timeout=30)
        for port in ports.values():
            wait_until(partial(port_closed, port), 10, f"port {port} to close")


def wait_for_task(client: httpx.Client, platform: Platform, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {}

    def finished() -> bool:
        nonlocal body
        body = client.get(
            f"{platform.api}/api/v1/tasks/{task_id}", headers=platform.token(Role.viewer)
        ).json()
        return body["state"] in ("SUCCESS", "FAILURE")

    wait_until(finished, 30, f"task {task_id}", interval_s=0.2)
    return body


def test_ready_in_time_and_prints_urls(platform: Platform) -> None:
    assert platform.ready_after_s < READY_WITHIN_S
    log = platform.process.log()
    for url in (platform.api, platform.monitor, platform.flower):
        assert url in log


def test_tasks_submitted_through_the_api_succeed(platform: Platform, httpserver: Any) -> None:
    httpserver.expect_request("/orders.json").respond_with_json([{"id": 1, "total": 9.5}])
    operator = platform.token(Role.operator)
    with httpx.Client(timeout=10) as client:
        noop = client.post(
            f"{platform.api}/api/v1/tasks", json={"task": "system.noop"}, headers=operator
        )
        collect = client.post(
            f"{platform.api}/api/v1/tasks",
            json={"task": "collect.http", "kwargs": {"url": httpserver.url_for("/orders.json")}},
            headers=operator,
        )
        assert noop.status_code == collect.status_code == 202
        assert wait_for_task(client, platform, noop.json()["id"])["state"] == "SUCCESS"
        collected = wait_for_task(client, platform, collect.json()["id"])
        assert collected["state"] == "SUCCESS", collected
        assert collected["result"]["status"] == 200


def test_monitor_sees_the_worker_and_beat(platform: Platform) -> None:
    with httpx.Client(timeout=10) as client:
        status = client.get(
            f"{platform.monitor}/api/v1/celery/status", headers=platform.token(Role.viewer)
        )
    assert status.status_code == 200
    body = status.json()
    assert body["workers_online"] == 1
    assert body["workers"][0].startswith("system-")
    assert body["beat_running"] is True


def monitor_pid(port: str) -> int:
    """The `python -m sdp_monitor` that `make run` started on this port."""
    mark = f"SDP_MONITOR_PORT={port}".encode()
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if b"sdp_monitor" in command and mark in (entry / "environ").read_bytes().split(b"\0"):
                return int(entry.name)
        except (OSError, ValueError):
            continue
    raise AssertionError(f"no monitor process on port {port}")


def test_the_monitor_leads_its_session_and_yields_the_cpu(platform: Platform) -> None:
    pid = monitor_pid(platform.monitor.rsplit(":", 1)[1])
    # The fields after the command name: state is the first, nice the 17th.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    assert int(fields[16]) == 10
    assert os.getsid(pid) == pid
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists():
        assert autogroup.read_text().split()[-1] == "10"


def test_flower_requires_the_generated_credentials(platform: Platform) -> None:
    user, _, password = (platform.run_dir / "flower_auth").read_text().strip().partition(":")
    with httpx.Client(timeout=10) as client:
        assert client.get(platform.flower).status_code == 401
        assert client.get(platform.flower, auth=(user, password)).status_code == 200


def test_a_real_prometheus_scrapes_api_and_monitor(
    platform: Platform, tmp_path: Path, tool: Callable[[str], str]
) -> None:
    binary = tool("prometheus")
    port = free_port()
    targets = {"api": platform.api, "monitor": platform.monitor}
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [url.removeprefix("http://")]}]}
            for job, url in targets.items()
        ],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))
    args = [
        binary,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with httpx.Client(timeout=10) as client, spawn(args, {}, name="prometheus") as prometheus:

        def query(expr: str) -> list[dict[str, Any]]:
            try:
                response = client.get(
                    f"http://127.0.0.1:{port}/api/v1/query", params={"query": expr}
                )
            except httpx.TransportError:
                return []
            result: list[dict[str, Any]] = response.json()["data"]["result"]
            return result

        def both_up() -> bool:
            assert prometheus.alive(), prometheus.log()[-2000:]
            up = {r["metric"]["job"]: r["value"][1] for r in query("up")}
            return up == {"api": "1", "monitor": "1"}

        wait_until(both_up, 30, "prometheus to scrape api and monitor", interval_s=0.5)
        client.get(f"{platform.api}/api/v1/schedules", headers=platform.token(Role.viewer))
        wait_until(
            lambda: bool(query('http_requests_total{job="api",route="/api/v1/schedules"}')),
            15,
            "the api's request counter in prometheus",
            interval_s=0.5,
        )
