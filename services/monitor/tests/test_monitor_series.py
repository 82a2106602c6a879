"""The throughput and queue depth series: the ring on its own, then the route on a real worker."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from celery import Celery
from fastapi.testclient import TestClient

from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings
from sdp_monitor.app import create_app
from sdp_monitor.cluster.series import MAX_SERIES_QUEUES, Sampler, SeriesRing
from sdp_testing.auth import Token, auth
from sdp_testing.clock import Clock
from sdp_testing.processes import running_worker, wait_until

from .support import monitor_settings


@pytest.fixture
def clock() -> Clock[float]:
    # The start of a step, so offsets below name the step they fall in.
    return Clock(1_000_000.0)


@pytest.fixture
def ring(clock: Clock[float]) -> SeriesRing:
    return SeriesRing(step_s=5, capacity=12, clock=clock)


def test_finished_tasks_count_in_the_step_of_their_time_per_second(
    ring: SeriesRing, clock: Clock[float]
) -> None:
    start = clock.now
    clock.now = start + 12
    for offset in (0.0, 1.0, 4.9, 5.0):
        ring.finished(True, start + offset)
    ring.finished(False, start + 7)
    series = ring.read(3)
    assert series.step_s == 5
    assert series.starts == [int(start) - 5, int(start), int(start) + 5]
    assert series.succeeded == [0.0, 3 / 5, 1 / 5]
    assert series.failed == [0.0, 0.0, 1 / 5]


def test_the_step_under_way_is_left_out_until_it_is_complete(
    ring: SeriesRing, clock: Clock[float]
) -> None:
    ring.finished(True, clock.now + 1)
    clock.now += 2
    assert ring.read(2).succeeded == [0.0, 0.0]
    clock.now += 3
    assert ring.read(2).succeeded == [0.0, 1 / 5]


def test_a_clock_ahead_counts_now_and_what_the_ring_forgot_is_not_counted(
    ring: SeriesRing, clock: Clock[float]
) -> None:
    ring.finished(True, clock.now + 3_600)
    ring.finished(True, clock.now - 13 * 5)
    ring.finished(False, clock.now - 12 * 5)
    series = ring.read(12)
    assert series.succeeded == [0.0] * 12
    assert series.failed == [1 / 5] + [0.0] * 11
    clock.now += 5
    assert ring.read(12).succeeded == [0.0] * 11 + [1 / 5]


def test_a_step_older_than_the_ring_is_forgotten_as_its_slot_is_reused(
    ring: SeriesRing, clock: Clock[float]
) -> None:
    ring.finished(True, clock.now)
    ring.sampled({"etl": 4})
    clock.now += 13 * 5
    ring.finished(False, clock.now)
    clock.now += 5
    series = ring.read(12)
    assert series.succeeded == [0.0] * 12
    assert series.failed == [0.0] * 11 + [1 / 5]
    assert series.queues == {}
    # More than the ring holds is what it holds.
    assert len(ring.read(100).starts) == 12


def test_depths_are_null_where_no_sample_was_taken_or_the_queue_was_not_known(
    ring: SeriesRing, clock: Clock[float]
) -> None:
    ring.sampled({"etl": 4})
    clock.now += 5
    clock.now += 5
    ring.sampled({"etl": 2, "system": 0})
    ring.sampled({"etl": 1, "system": 0})
    clock.now += 5
    series = ring.read(4)
    assert series.queues == {"etl": [None, 4, None, 1], "system": [None, None, None, 0]}
    assert len(series.starts) == len(series.succeeded) == len(series.failed) == 4


def test_the_queues_a_step_holds_are_bounded(ring: SeriesRing, clock: Clock[float]) -> None:
    ring.sampled({f"q{n:04}": n for n in range(MAX_SERIES_QUEUES + 50)})
    clock.now += 5
    queues = ring.read(1).queues
    assert len(queues) == MAX_SERIES_QUEUES
    assert min(queues) == "q0000"


def test_a_redis_failure_leaves_its_step_without_depths_and_the_sampler_goes_on() -> None:
    ring = SeriesRing(step_s=1, capacity=60)
    calls: list[int] = []
    done = asyncio.Event()

    async def lengths() -> dict[str, int]:
        calls.append(ring.step_of(ring.clock()))
        if len(calls) == 1:
            raise aioredis.ConnectionError("broker away")
        if len(calls) == 3:
            done.set()
        return {"etl": len(calls)}

    async def run() -> None:
        sampler = Sampler(ring, lengths)
        sampler.start()
        await done.wait()
        assert sampler.running
        await sampler.stop()
        assert not sampler.running

    asyncio.run(run())
    # The third call's step is the latest; read up to it as complete.
    first, second, third = calls
    assert first < second < third
    starts, depths = _read_through(ring, third)
    held = dict(zip(starts, depths, strict=True))
    assert held[first] is None
    assert held[second] == 2
    assert held[third] == 3


def _read_through(ring: SeriesRing, step: int) -> tuple[list[int], list[int | None]]:
    """Starts and etl depths of the steps up to `step`, read as if it had ended."""
    real = ring.clock
    ring.clock = lambda: (step + 1) * ring.step_s
    try:
        series = ring.read(ring.capacity)
    finally:
        ring.clock = real
    return series.starts, series.queues["etl"]


@pytest.fixture
def sender(redis_url: str) -> Celery:
    return make_celery("test-sender", CommonSettings(redis_url=redis_url))


def test_a_worker_s_tasks_show_in_their_steps_and_waiting_messages_as_depth(
    redis_url: str, jwt_secret: str, token: Token, sender: Celery
) -> None:
    app = create_app(monitor_settings(redis_url, jwt_secret, series_step_s=1))
    viewer = auth(token, "viewer")

    def series(minutes: int = 1) -> dict[str, Any]:
        response = client.get(f"/api/v1/celery/series?minutes={minutes}", headers=viewer)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    with TestClient(app) as client, running_worker(redis_url, queues="system"):
        succeeding = [sender.send_task("system.noop").id for _ in range(3)]
        failing = sender.send_task("system.sleep", args=[-1]).id
        waiting = [sender.send_task("etl.transform", kwargs={}).id for _ in range(2)]
        wait_until(
            lambda: sum(series()["succeeded"]) == 3 and sum(series()["failed"]) == 1,
            30,
            f"tasks {succeeding} and {failing} to be counted",
        )
        body = series()
        assert body["step_s"] == 1
        assert len(body["t"]) == len(body["succeeded"]) == len(body["failed"]) == 60
        assert body["t"] == list(range(body["t"][0], body["t"][0] + 60))

        def finished_step(task_id: str) -> int:
            detail = client.get(f"/api/v1/celery/task/{task_id}", headers=viewer).json()
            return int(datetime.fromisoformat(detail["finished_at"]).timestamp())

        expected = Counter(finished_step(task_id) for task_id in succeeding)
        steps = dict(zip(body["t"], body["succeeded"], strict=True))
        assert {t: n for t, n in steps.items() if n} == expected
        failed = dict(zip(body["t"], body["failed"], strict=True))
        assert {t: n for t, n in failed.items() if n} == {finished_step(failing): 1}
        wait_until(
            lambda: series()["queues"].get("etl", [None])[-1] == 2,
            30,
            f"the queued tasks {waiting} to be sampled",
        )
        assert set(series()["queues"]) >= {"collect", "etl", "system"}
        assert series(minutes=60)["step_s"] == 1
        assert len(series(minutes=60)["t"]) == 3_600


def test_the_default_step_and_length(redis_url: str, jwt_secret: str, token: Token) -> None:
    with TestClient(create_app(monitor_settings(redis_url, jwt_secret))) as client:
        body = client.get("/api/v1/celery/series", headers=auth(token, "viewer")).json()
    assert body["step_s"] == 5
    assert all(len(body[key]) == 180 for key in ("t", "succeeded", "failed"))
    assert all(len(depths) == 180 for depths in body["queues"].values())
    assert body["t"][1] - body["t"][0] == 5


@pytest.mark.parametrize("minutes", ["0", "61", "-1", "x", "1.5"])
def test_a_bad_minutes_is_422_naming_it(
    redis_url: str, jwt_secret: str, token: Token, minutes: str
) -> None:
    with TestClient(create_app(monitor_settings(redis_url, jwt_secret))) as client:
        response = client.get(
            f"/api/v1/celery/series?minutes={minutes}", headers=auth(token, "viewer")
        )
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["minutes"]


def test_a_stopped_sampler_is_503(redis_url: str, jwt_secret: str, token: Token) -> None:
    app = create_app(monitor_settings(redis_url, jwt_secret))
    with TestClient(app) as client:
        assert client.get("/api/v1/celery/series", headers=auth(token, "viewer")).status_code == 200
        assert client.portal is not None
        client.portal.call(app.state.sampler.stop)
        response = client.get("/api/v1/celery/series", headers=auth(token, "viewer"))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_a_step_that_does_not_divide_a_minute_is_refused(redis_url: str, jwt_secret: str) -> None:
    with pytest.raises(ValueError, match="must divide 60"):
        monitor_settings(redis_url, jwt_secret, series_step_s=7)
