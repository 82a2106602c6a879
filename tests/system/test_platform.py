"""The whole platform started the way `make run` starts it, driven through its HTTP APIs."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

from sdp_core import keys
from sdp_core.auth import Role
from sdp_core.heartbeat import read_heartbeat
from sdp_testing.platform import (
    STUB_INDEX,
    Platform,
    port_closed,
    running_platform,
    service_pid,
    supervisorctl,
)
from sdp_testing.processes import ping, spawn, wait_until
from sdp_testing.prometheus import running_prometheus
from sdp_testing.redis_server import free_port, redis_server_args, wait_for_redis

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
READY_WITHIN_S = 60

pytestmark = [pytest.mark.system, pytest.mark.slow]


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
    printed = "\n".join(re.findall(r"^ready +\| (.*)$", platform.process.log(), re.MULTILINE))
    urls = [platform.web, platform.api, platform.monitor, platform.flower]
    # The console's URL first, and again in the ready line.
    assert sorted(urls, key=printed.index) == urls, printed
    assert re.search(rf"SDP platform ready in [\d.]+ s: open {platform.web}$", printed), printed


def test_the_console_and_both_services_answer_through_its_one_origin(platform: Platform) -> None:
    viewer = platform.token(Role.viewer)
    with httpx.Client(timeout=10) as client:
        for path in ("/", "/tasks?task=0b6c2d"):
            index = client.get(platform.web + path)
            assert (index.status_code, index.text) == (200, STUB_INDEX)
        status = client.get(f"{platform.web}/api/v1/celery/status", headers=viewer)
        assert status.status_code == 200, status.text
        assert status.json()["workers_online"] == 1
        schedules = client.get(f"{platform.web}/api/v1/schedules", headers=viewer)
        assert schedules.status_code == 200, schedules.text
        assert "items" in schedules.json()
        # The services' own errors pass through unchanged.
        anonymous = client.get(f"{platform.web}/api/v1/schedules")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "unauthorized"


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


def test_the_monitor_leads_its_session_and_yields_the_cpu(platform: Platform) -> None:
    pid = service_pid(platform, "sdp_monitor")
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


def test_a_real_prometheus_scrapes_api_and_monitor_and_no_alert_fires(
    platform: Platform, tmp_path: Path, tool: Callable[[str], str]
) -> None:
    targets = {"api": platform.api, "monitor": platform.monitor}
    with running_prometheus(
        tool("prometheus"), targets, tmp_path, rule_files=[ALERTS]
    ) as prometheus:
        httpx.get(f"{platform.api}/api/v1/schedules", headers=platform.token(Role.viewer))
        wait_until(
            lambda: bool(
                prometheus.query('http_requests_total{job="api",route="/api/v1/schedules"}')
            ),
            15,
            "the api's request counter in prometheus",
            interval_s=0.5,
        )

        names = sorted(
            rule["alert"]
            for group in yaml.safe_load(ALERTS.read_text())["groups"]
            for rule in group["rules"]
        )

        def rules() -> list[dict[str, Any]]:
            groups = prometheus.api("rules")["data"]["groups"]
            return [rule for group in groups for rule in group["rules"]]

        # Every rule evaluates against the real series, and a healthy platform raises none.
        def all_evaluated_and_quiet() -> bool:
            loaded = rules()
            assert sorted(rule["name"] for rule in loaded) == names
            for rule in loaded:
                assert rule["health"] in ("ok", "unknown"), rule
            return all(rule["health"] == "ok" and rule["state"] == "inactive" for rule in loaded)

        wait_until(all_evaluated_and_quiet, 30, "every alert rule evaluated, none raised")


# --- supervision: what exits comes back, and nothing else stops ------------------------------


def lasting_pids(platform: Platform) -> dict[str, int]:
    """The programs a worker's or beat's restart must leave running as they were."""
    return {name: service_pid(platform, name) for name in ("redis", "sdp_api", "sdp_monitor")}


def online_workers(platform: Platform) -> list[str]:
    with httpx.Client(timeout=10) as client:
        status = client.get(
            f"{platform.monitor}/api/v1/celery/status", headers=platform.token(Role.viewer)
        )
    assert status.status_code == 200, status.text
    workers: list[str] = status.json()["workers"]
    return workers


def worker_back(platform: Platform, node: str, old_pid: int) -> bool:
    try:
        restarted = service_pid(platform, "sdp_worker") != old_pid
    except AssertionError:  # between the old one's end and the new one's start
        return False
    return restarted and ping(platform.redis_url, node)


@pytest.mark.timeout(300)
def test_a_killed_worker_comes_back_and_nothing_else_stops(platform: Platform) -> None:
    before = lasting_pids(platform)
    [node] = online_workers(platform)
    old = service_pid(platform, "sdp_worker")
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: worker_back(platform, node, old), 90, "the worker to come back")
    wait_until(lambda: online_workers(platform) == [node], 30, "the monitor to show it online")
    assert lasting_pids(platform) == before


@pytest.mark.timeout(300)
def test_a_worker_stopped_through_the_monitor_comes_back(platform: Platform) -> None:
    before = lasting_pids(platform)
    [node] = online_workers(platform)
    old = service_pid(platform, "sdp_worker")
    with httpx.Client(timeout=10) as client:
        shutdown = client.post(
            f"{platform.monitor}/api/v1/celery/worker/shutdown",
            json={"workers": [node]},
            headers=platform.token(Role.admin),
        )
    assert shutdown.status_code == 200, shutdown.text
    wait_until(lambda: worker_back(platform, node, old), 90, "the worker to come back")
    assert lasting_pids(platform) == before


@pytest.mark.timeout(300)
def test_supervisorctl_stops_and_starts_one_program_and_the_rest_run_on(
    platform: Platform,
) -> None:
    assert "monitor" in supervisorctl(platform, "status")
    before = lasting_pids(platform)
    assert "stopped" in supervisorctl(platform, "stop", "monitor")
    try:
        assert port_closed(platform.ports["monitor"])
        with httpx.Client(timeout=10) as client:
            # Caddy answers for it, naming it, and the api behind the same origin runs on.
            down = client.get(f"{platform.web}/api/v1/celery/status")
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "unavailable"
            up = client.get(
                f"{platform.web}/api/v1/scheduler/status", headers=platform.token(Role.viewer)
            )
            assert up.status_code == 200, up.text
        assert service_pid(platform, "sdp_api") == before["sdp_api"]
    finally:
        assert "started" in supervisorctl(platform, "start", "monitor")
    wait_until(lambda: not port_closed(platform.ports["monitor"]), 30, "the monitor to answer")


@pytest.mark.timeout(300)
def test_a_killed_beat_comes_back(platform: Platform) -> None:
    before = lasting_pids(platform)
    old = service_pid(platform, "sdp_beat")
    os.kill(old, signal.SIGKILL)
    killed_at = time.time()
    client = redis.Redis.from_url(platform.redis_url)
    try:

        def beat_back() -> bool:
            heartbeat = read_heartbeat(client)
            return heartbeat is not None and heartbeat.leading and heartbeat.last_tick > killed_at

        wait_until(beat_back, 90, "a heartbeat from the restarted beat", interval_s=0.5)
    finally:
        client.close()
    assert service_pid(platform, "sdp_beat") != old
    assert lasting_pids(platform) == before


def stop_order(log: str) -> list[str]:
    """The programs in the order supervisord reported them stopped at its exit (a program
    stopped by hand before that, through supervisorctl, is not part of it)."""
    exit_request = log.rindex("indicating exit request")
    return re.findall(r" stopped: (\w+) \(", log[exit_request:])


@pytest.mark.timeout(300)
def test_ctrl_c_stops_everything_in_order_and_the_monitor_flushes_first(
    platform: Platform, redis_server_path: str
) -> None:
    operator = platform.token(Role.operator)
    with httpx.Client(timeout=10) as client:

        def submit(task: str, **kwargs: Any) -> str:
            sent = client.post(
                f"{platform.api}/api/v1/tasks",
                json={"task": task, "kwargs": kwargs},
                headers=operator,
            )
            assert sent.status_code == 202, sent.text
            task_id: str = sent.json()["id"]
            return task_id

        # Both pool processes busy, so the no-ops still wait in the queue at Ctrl-C: the monitor
        # holds their records (unfinished) and only its final flush writes them.
        ids = [submit("system.sleep", seconds=2) for _ in range(2)]
        ids += [submit("system.noop") for _ in range(4)]
    assert platform.stop() == 0
    # What Redis wrote to its append-only file before it stopped.
    port = free_port()
    aof = redis_server_args(
        redis_server_path, port, str(platform.run_dir / "redis"), appendonly=True
    )
    with spawn(aof, {}, name="aof"):
        url = f"redis://127.0.0.1:{port}/0"
        wait_for_redis(url)
        restored = redis.Redis.from_url(url)
        try:
            missing = [i for i in ids if not restored.exists(keys.monitor_task(i))]
        finally:
            restored.close()
    assert missing == [], f"the monitor's history lost {missing}"
    log = platform.process.log()
    assert "history write failed" not in log
    assert "history write failed" not in (platform.run_dir / "logs" / "monitor.log").read_text()
    order = stop_order(log)
    assert set(order) == {
        "web",
        "api",
        "worker",
        "beat",
        "flower",
        "monitor",
        "redis",
        "output",
    }, log
    # Caddy first, so no request reaches a stopped service.
    assert order[0] == "web", order
    assert order[-3:] == ["monitor", "redis", "output"], order


@pytest.mark.timeout(900)
def test_a_program_that_keeps_failing_is_given_up_and_the_others_run_on(
    tmp_path: Path, redis_url: str
) -> None:
    # Beat refuses this setting at startup; the platform uses the Redis already answering.
    with running_platform(
        tmp_path, redis_url, SDP_BEAT_LOCK_TTL_S="100", SDP_READY_TIMEOUT_S="20"
    ) as broken:
        log = broken.process.log
        named = re.search(r"SDP platform NOT ready after 20 s: ([\w, ]+) not ready", log())
        assert named is not None, log()[-4000:]
        assert "beat" in named[1].split(", ")
        before = {
            name: service_pid(broken, name) for name in ("sdp_api", "sdp_monitor", "sdp_worker")
        }
        # Six starts that each fail within START_S, with 1 + 2 + ... + 5 s between them.
        wait_until(lambda: "gave up: beat entered FATAL state" in log(), 600, "beat to be given up")
        with httpx.Client(timeout=10) as client:

            def ready(url: str) -> bool:
                return client.get(f"{url}/readyz").status_code == 200

            wait_until(lambda: ready(broken.api) and ready(broken.monitor), 60, "api and monitor")
        assert {name: service_pid(broken, name) for name in before} == before
        assert log().count("spawned: 'ready'") == 1
        assert broken.stop(signal.SIGTERM) == 0
        assert "redis" not in stop_order(log())
