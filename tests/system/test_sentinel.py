"""The platform on Redis Sentinel, started as `make run` starts it, through a master's death.

A master, its replica and three sentinels (sdp_testing.redis_server); every service gets the
same sentinel:// URL. Tasks and a schedule firing every second run; once the replica has
confirmed every write acknowledged so far, the master is SIGKILLed. The sentinels promote the
replica, and the api, worker, beat and monitor carry on through it: every task submitted
before and after the kill succeeds, and the schedule keeps firing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from sdp_core.auth import Role
from sdp_testing.platform import Platform, all_succeeded, run_count, running_platform, submit
from sdp_testing.processes import wait_until
from sdp_testing.redis_server import SentinelCluster

pytestmark = [pytest.mark.system, pytest.mark.slow]

BEFORE = 20
QUEUED = 20
AFTER = 20
# Messages a worker held when the master died come back after the visibility timeout.
VISIBILITY_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def platform(
    redis_sentinel: SentinelCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    url = redis_sentinel.url()
    with running_platform(
        tmp_path_factory.mktemp("run"),
        redis_url=url,
        CELERY_BROKER_URL=url,
        CELERY_RESULT_BACKEND=url,
        SDP_VISIBILITY_TIMEOUT_S=str(VISIBILITY_TIMEOUT_S),
    ) as started:
        assert "SDP platform ready in" in started.process.log(), started.process.log()[-4000:]
        yield started


@pytest.mark.timeout(600)
def test_the_platform_carries_on_through_a_failover_losing_nothing(
    redis_sentinel: SentinelCluster, platform: Platform
) -> None:
    statuses: Counter[int] = Counter()
    with httpx.Client(timeout=10) as client:
        created = client.post(
            f"{platform.api}/api/v1/schedules",
            json={
                "name": "every-second",
                "task": "system.noop",
                "trigger": {"type": "interval", "every": 1, "unit": "seconds"},
            },
            headers=platform.token(Role.operator),
        )
        assert created.status_code == 201, created.text
        schedule_id = created.json()["id"]
        before = [submit(client, platform, statuses) for _ in range(BEFORE)]
        wait_until(lambda: all_succeeded(client, platform, before), 60, "the first tasks")
        wait_until(lambda: run_count(client, platform, schedule_id) >= 3, 30, "beat to fire")

        # Acknowledged and then confirmed by the replica: these must survive the master.
        queued = [submit(client, platform, statuses) for _ in range(QUEUED)]
        offset = redis_sentinel.master_offset()
        wait_until(lambda: redis_sentinel.replicated_to(offset), 10, "the replica to catch up")
        old = redis_sentinel.master_port()
        assert old is not None
        replica = next(port for port in redis_sentinel.servers if port != old)
        runs_at_kill = run_count(client, platform, schedule_id)
        redis_sentinel.kill(old)
        killed_at = time.monotonic()

        after = [submit(client, platform, statuses)]
        first_accepted_s = time.monotonic() - killed_at
        refused = sum(count for status, count in statuses.items() if status != 202)
        after += [submit(client, platform, statuses) for _ in range(AFTER - 1)]
        wait_until(lambda: redis_sentinel.master_port() == replica, 30, "the replica's promotion")

        submitted = [*before, *queued, *after]
        wait_until(
            lambda: all_succeeded(client, platform, submitted),
            60 + VISIBILITY_TIMEOUT_S,
            "every task to succeed",
            interval_s=0.5,
        )
        wait_until(
            lambda: run_count(client, platform, schedule_id) >= runs_at_kill + 5,
            60,
            "beat to fire on the promoted master",
            interval_s=0.5,
        )
        runs = client.get(
            f"{platform.api}/api/v1/schedules/{schedule_id}/runs",
            params={"limit": 5},
            headers=platform.token(Role.viewer),
        ).json()["items"]

        def monitor_sees_everyone() -> bool:
            response = client.get(
                f"{platform.monitor}/api/v1/celery/status", headers=platform.token(Role.viewer)
            )
            status = response.json() if response.status_code == 200 else {}
            return bool(status.get("workers_online") == 1 and status.get("beat_running"))

        wait_until(monitor_sees_everyone, 30, "the monitor to hear the worker and beat again")

    print(
        f"\nsentinel failover: the first submission after the kill accepted after "
        f"{first_accepted_s:.1f} s, {refused} refused or dropped before it; statuses "
        f"{dict(statuses)}; {len(submitted)} tasks all SUCCESS"
    )
    assert statuses[202] == len(submitted)
    # Slots fired after the failover ran too: the newest runs' tasks finish.
    assert any(run["state"] == "SUCCESS" for run in runs), runs
