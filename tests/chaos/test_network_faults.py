"""A flaky network between the services and Redis: the platform as `make run` starts it, with
REDIS_URL pointing at a TCP proxy (sdp_testing.proxy) in front of the test's own redis-server.

While tasks are submitted and a schedule fires, the proxy cuts every connection several times,
holds every byte for a while, and hangs up on every new connection for a few seconds. Every
service reconnects, and waits between its attempts (the proxy counts them: a bounded number, not
a hot loop); no supervised process exits; every submission the api accepted succeeds, the
schedule keeps firing and the monitor sees the worker and beat again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from sdp_testing.platform import (
    Platform,
    create_schedule,
    not_ready,
    run_count,
    running_platform,
    supervised_pids,
    try_submit,
    wait_succeeded,
)
from sdp_testing.processes import wait_until
from sdp_testing.proxy import FlakyProxy, flaky_proxy
from sdp_testing.redis_server import AofServer

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.chaos]

DROPS = 4
DELAY_S = 0.2
REFUSE_S = 8
# Every client of Redis in the platform (api, monitor, worker and its pool, beat, Flower)
# retrying after at least 0.1 s and at most 5-10 s makes a few dozen attempts in REFUSE_S; one
# retrying in a loop makes thousands.
MAX_ATTEMPTS_PER_S = 15
# Messages a worker held when its connection was cut come back after the visibility timeout.
VISIBILITY_TIMEOUT_S = 10
READY_AGAIN_WITHIN_S = 60


@pytest.fixture(scope="module")
def proxy(redis_aof: AofServer) -> Iterator[FlakyProxy]:
    with flaky_proxy(urlsplit(redis_aof.url).port or 6379) as started:
        yield started


@pytest.fixture(scope="module")
def platform(proxy: FlakyProxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(
        tmp_path_factory.mktemp("run"),
        redis_url=proxy.url(),
        SDP_VISIBILITY_TIMEOUT_S=str(VISIBILITY_TIMEOUT_S),
    ) as started:
        assert "SDP platform ready in" in started.process.log(), started.process.log()[-4000:]
        yield started


def submit_some(
    client: httpx.Client, platform: Platform, statuses: Counter[int], count: int
) -> list[str]:
    """`count` submissions, each tried once; the ids of those the api accepted."""
    return [task_id for _ in range(count) if (task_id := try_submit(client, platform, statuses))]


@pytest.mark.timeout(600)
def test_every_service_reconnects_with_capped_backoff_and_nothing_is_lost(
    platform: Platform, proxy: FlakyProxy, redis_aof: AofServer
) -> None:
    statuses: Counter[int] = Counter()
    with httpx.Client(timeout=30) as client:
        schedule_id = create_schedule(client, platform, "through-a-flaky-network", 2)
        wait_until(lambda: run_count(client, platform, schedule_id) >= 2, 30, "beat to fire")
        pids = supervised_pids(platform)
        accepted = submit_some(client, platform, statuses, 10)
        cut = 0
        for _ in range(DROPS):
            cut += proxy.drop()
            accepted += submit_some(client, platform, statuses, 5)
            proxy.delay_s = DELAY_S
            accepted += submit_some(client, platform, statuses, 5)
            time.sleep(2)
            proxy.delay_s = 0
            accepted += submit_some(client, platform, statuses, 5)
            time.sleep(1)
        fired = run_count(client, platform, schedule_id)

        # Nothing the test does reaches Redis meanwhile: every attempt is the platform's own.
        with proxy.refusing():
            before = proxy.attempts
            time.sleep(REFUSE_S)
            attempts = proxy.attempts - before
        since = time.time()
        back_at = time.monotonic()
        missing: list[str] = []

        def all_ready() -> bool:
            missing[:] = not_ready(client, platform, redis_aof.url, since)
            return not missing

        try:
            wait_until(all_ready, READY_AGAIN_WITHIN_S, "every service ready", interval_s=0.5)
        except TimeoutError:
            pytest.fail(f"not ready {READY_AGAIN_WITHIN_S} s after the network healed: {missing}")
        ready_after_s = time.monotonic() - back_at
        accepted += submit_some(client, platform, statuses, 10)
        print(
            f"\nflaky network: {cut} sockets cut in {DROPS} drops; {attempts} connection attempts"
            f" in {REFUSE_S} s of refusal; all ready {ready_after_s:.1f} s after; "
            f"submissions {dict(statuses)}"
        )
        assert attempts <= MAX_ATTEMPTS_PER_S * REFUSE_S, attempts
        # Every service tried again while refused, and got through once it could.
        assert attempts > 0
        assert statuses[202] == len(accepted) >= 10
        wait_succeeded(client, platform, accepted, 60 + VISIBILITY_TIMEOUT_S)
        wait_until(
            lambda: run_count(client, platform, schedule_id) >= fired + 3,
            30,
            "the schedule to fire again",
        )
        assert supervised_pids(platform) == pids
