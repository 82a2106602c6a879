"""The api and the monitor restarted under load: nothing they had accepted is lost.

The platform as `make run` starts it. A client thread submits tasks and creates schedules
without pause while the api is stopped with SIGTERM, as a restart stops it, then SIGKILLed,
supervisord starting it again each time, and the monitor likewise. (`supervisorctl restart`
would do the same, but answers only after the program's 60 s startsecs.) Every submission
the api accepted (202) succeeds, the monitor finds every one of them afterwards and its history
still holds what it held before its restarts, every schedule the api accepted (201) is there,
and nothing else restarted.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from sdp_core.auth import Role
from sdp_testing.platform import (
    Platform,
    history_ids,
    schedule_ids,
    service_pid,
    supervised_pids,
    task_states,
    try_submit,
    wait_succeeded,
)
from sdp_testing.processes import wait_until

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.chaos]

# The load's bounds, whatever happens to the restarts.
LOAD_MAX_S = 420
LOAD_MAX_SUBMISSIONS = 3_000
SCHEDULE_EVERY = 10
# supervisord starts a killed program again after its start time has passed.
BACK_WITHIN_S = 120


@dataclass
class Load:
    """A client submitting tasks, and now and then creating a schedule, until stopped."""

    platform: Platform
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + LOAD_MAX_S
        with httpx.Client(timeout=10) as client:
            for n in range(LOAD_MAX_SUBMISSIONS):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    if task_id := try_submit(client, self.platform, self.statuses):
                        self.accepted.append(task_id)
                    if n % SCHEDULE_EVERY == 0:
                        self.create_schedule(client, n)
                except AssertionError as failed:  # anything but an acceptance, a 503 or a drop
                    self.failures.append(str(failed))
                time.sleep(0.1)

    def create_schedule(self, client: httpx.Client, n: int) -> None:
        try:
            created = client.post(
                f"{self.platform.api}/api/v1/schedules",
                json={
                    "name": f"under-load-{n}",
                    "task": "system.noop",
                    # Not due during the test: only its record matters.
                    "trigger": {"type": "interval", "every": 1, "unit": "hours"},
                },
                headers=self.platform.token(Role.operator),
            )
        except httpx.TransportError:
            return
        if created.status_code == 201:
            self.schedules.append(created.json()["id"])
        else:
            assert created.status_code == 503, created.text


@pytest.fixture
def load(platform: Platform) -> Iterator[Load]:
    running = Load(platform)
    thread = threading.Thread(target=running.run, name="load", daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.stop.set()
        thread.join(30)


def ready(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(f"{url}/readyz").status_code == 200
    except httpx.TransportError:
        return False


def stopped_and_back(platform: Platform, program: str, url: str, sig: signal.Signals) -> None:
    """Signal the program's process; wait until supervisord has started a new one that is ready."""
    old = service_pid(platform, program)
    os.kill(old, sig)

    def back() -> bool:
        try:
            if service_pid(platform, program) == old:
                return False
        except AssertionError:  # between the old one's end and the new one's start
            return False
        with httpx.Client(timeout=5) as client:
            return ready(client, url)

    wait_until(back, BACK_WITHIN_S, f"{program} to be started again", interval_s=0.5)


@pytest.mark.timeout(900)
def test_the_api_and_the_monitor_restarted_under_load_lose_nothing(
    platform: Platform, load: Load
) -> None:
    wait_until(lambda: len(load.accepted) >= 20, 60, "the load to start")
    others = {
        command: pid
        for command, pid in supervised_pids(platform).items()
        if "sdp_api" not in command and "sdp_monitor" not in command
    }
    # The output printer, Redis, worker, beat, Flower and Caddy.
    assert len(others) == 6, others
    stopped_and_back(platform, "sdp_api", platform.api, signal.SIGTERM)
    stopped_and_back(platform, "sdp_api", platform.api, signal.SIGKILL)
    with httpx.Client(timeout=30) as client:
        before_monitor = len(load.accepted)
        wait_until(
            lambda: set(load.accepted[:before_monitor]) <= history_ids(client, platform),
            60,
            "the monitor's history to hold what was accepted so far",
        )
        held = history_ids(client, platform)
        stopped_and_back(platform, "sdp_monitor", platform.monitor, signal.SIGTERM)
        stopped_and_back(platform, "sdp_monitor", platform.monitor, signal.SIGKILL)
        wait_until(lambda: len(load.accepted) >= before_monitor + 20, 60, "more load")
        load.stop.set()
        time.sleep(1)
        accepted = list(load.accepted)
        print(
            f"\nrestarts under load: submissions {dict(load.statuses)}, "
            f"{len(load.schedules)} schedules created"
        )
        assert load.failures == []
        wait_succeeded(client, platform, accepted, 120)
        assert task_states(client, platform, accepted, via="monitor") == Counter(
            {"SUCCESS": len(accepted)}
        )
        history = history_ids(client, platform)
        assert held <= history
        missing = set(accepted) - history
        print(f"accepted tasks not in the monitor's history list: {len(missing)}")
        assert set(load.schedules) <= schedule_ids(client, platform)
    assert {
        name: pid for name, pid in supervised_pids(platform).items() if name in others
    } == others
