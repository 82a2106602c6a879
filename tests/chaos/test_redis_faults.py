"""Redis stopped for 10 s, and Redis killed and restarted from its append-only file, under the
whole platform as `make run` starts it.

The test starts its own redis-server (AOF on) and points the platform at it. Meanwhile the
api's and the monitor's /readyz answer 503, never anything else; no supervised process exits;
once Redis is back every service is ready again; the schedules, their runs and the task history
are what they were, every task submitted before the fault succeeds and the schedule fires on.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest

from sdp_testing.platform import (
    Platform,
    all_succeeded,
    create_schedule,
    history_ids,
    not_ready,
    run_count,
    run_task_ids,
    running_platform,
    schedule_ids,
    submit,
    supervised_pids,
    try_submit,
    wait_succeeded,
)
from sdp_testing.processes import wait_until
from sdp_testing.redis_server import AofServer

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.chaos]

OUTAGE_S = 10
# The promise is ready again within 10 s of Redis; a two-core machine shared by several test
# runs is given three times that before it counts as broken.
READY_AGAIN_WITHIN_S = 30
SCHEDULE_EVERY_S = 2
# What a worker held unacknowledged when its connection broke is delivered again after this
# (docs/operations.md): short here, so the test sees it run.
VISIBILITY_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def platform(redis_aof: AofServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(
        tmp_path_factory.mktemp("run"),
        redis_url=redis_aof.url,
        SDP_VISIBILITY_TIMEOUT_S=str(VISIBILITY_TIMEOUT_S),
    ) as started:
        assert "SDP platform ready in" in started.process.log(), started.process.log()[-4000:]
        yield started


def readyz_during(
    client: httpx.Client, platform: Platform, seconds: float
) -> dict[str, Counter[int]]:
    """The api's and the monitor's /readyz answers (0: no answer) polled for `seconds`."""
    answers: dict[str, Counter[int]] = {"api": Counter(), "monitor": Counter()}
    urls = {"api": platform.api, "monitor": platform.monitor}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, url in urls.items():
            try:
                answers[name][client.get(f"{url}/readyz").status_code] += 1
            except httpx.TransportError:
                answers[name][0] += 1
        time.sleep(0.25)
    return answers


def through_an_outage(
    platform: Platform,
    redis_aof: AofServer,
    name: str,
    fault: Callable[[], object],
    back: Callable[[], object],
) -> None:
    statuses: Counter[int] = Counter()
    with httpx.Client(timeout=10) as client:
        schedule_id = create_schedule(client, platform, name, SCHEDULE_EVERY_S)
        done = [submit(client, platform, statuses) for _ in range(10)]
        wait_until(lambda: all_succeeded(client, platform, done), 60, "the first tasks")
        wait_until(lambda: run_count(client, platform, schedule_id) >= 3, 30, "beat to fire")
        wait_until(lambda: set(done) <= history_ids(client, platform), 30, "the monitor's history")
        # Running and queued when Redis goes: each must still succeed.
        pending = [
            task_id
            for _ in range(2)
            if (task_id := try_submit(client, platform, statuses, "system.sleep", {"seconds": 3}))
        ]
        pending += [submit(client, platform, statuses) for _ in range(10)]
        assert len(pending) == 12, statuses
        pids = supervised_pids(platform)
        schedules = schedule_ids(client, platform)
        runs = run_task_ids(client, platform, schedule_id)
        fired = run_count(client, platform, schedule_id)
        history = history_ids(client, platform)

        fault()
        answers = readyz_during(client, platform, OUTAGE_S)
        back()
        since = time.time()
        back_at = time.monotonic()
        missing: list[str] = []

        def all_ready() -> bool:
            missing[:] = not_ready(client, platform, redis_aof.url, since)
            return not missing

        try:
            wait_until(all_ready, READY_AGAIN_WITHIN_S, "every service ready", interval_s=0.25)
        except TimeoutError:
            pytest.fail(f"not ready {READY_AGAIN_WITHIN_S} s after Redis came back: {missing}")
        ready_after_s = time.monotonic() - back_at
        print(
            f"\n{name}: readyz during the outage {answers}; all ready {ready_after_s:.1f} s after"
        )

        for service, seen in answers.items():
            assert set(seen) == {503}, f"{service}'s /readyz during the outage: {seen}"
        assert supervised_pids(platform) == pids
        assert platform.process.alive()
        wait_succeeded(client, platform, [*done, *pending], 60 + VISIBILITY_TIMEOUT_S)
        assert schedule_ids(client, platform) == schedules
        assert run_count(client, platform, schedule_id) >= fired
        assert runs <= run_task_ids(client, platform, schedule_id)
        wait_until(
            lambda: run_count(client, platform, schedule_id) >= fired + 3,
            30,
            "the schedule to fire again",
        )
        assert history <= history_ids(client, platform)
        wait_until(
            lambda: set(pending) <= history_ids(client, platform), 30, "the new tasks in history"
        )


@pytest.mark.timeout(600)
def test_redis_stopped_for_10_s(platform: Platform, redis_aof: AofServer) -> None:
    through_an_outage(
        platform,
        redis_aof,
        "paused-redis",
        lambda: redis_aof.send(signal.SIGSTOP),
        lambda: redis_aof.send(signal.SIGCONT),
    )


@pytest.mark.timeout(600)
def test_redis_killed_and_restarted_from_its_aof(platform: Platform, redis_aof: AofServer) -> None:
    # SIGKILL: no shutdown, no final rewrite; what was acknowledged is in the file already.
    through_an_outage(
        platform,
        redis_aof,
        "restarted-redis",
        lambda: redis_aof.end(signal.SIGKILL),
        redis_aof.start,
    )
