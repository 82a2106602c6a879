"""USE_CELERY=false: the API runs schedules in-process with APScheduler, fed from the store."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core import keys
from sdp_core.heartbeat import BeatHeartbeat
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.leader import LeaderLock
from sdp_testing.auth import Token, auth
from sdp_testing.processes import running_worker, spawn, wait_until
from sdp_testing.schedules import rewrite_definition

BASE = "/api/v1/schedules"


def api(redis_url: str, secret: str, *, use_celery: bool, node: str = "api-a") -> TestClient:
    settings = ApiSettings(
        environment="test",
        jwt_secret=secret,
        redis_url=redis_url,
        use_celery=use_celery,
        node_name=node,
        engine_lock_ttl_s=2,
    )
    return TestClient(create_app(settings))


@pytest.fixture
def operator(token: Token) -> dict[str, str]:
    return auth(token, "operator")


@pytest.fixture
def inprocess(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    with api(redis_url, jwt_secret, use_celery=False) as client:
        yield client


def status(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/api/v1/scheduler/status", headers=headers).json()
    return body


def every_second(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "task": "system.noop",
        "trigger": {"type": "interval", "every": 1},
        **extra,
    }


def runs(client: TestClient, headers: dict[str, str], schedule_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(
        f"{BASE}/{schedule_id}/runs", params={"limit": 500}, headers=headers
    ).json()["items"]
    return items


def fired(run: dict[str, Any]) -> float:
    return datetime.fromisoformat(run["fired_at"]).timestamp()


def test_options_map_onto_apscheduler_jobs(inprocess: TestClient, operator: dict[str, str]) -> None:
    wait_until(lambda: status(inprocess, operator)["this_replica_leads"], 10, "the engine to lead")
    engine = inprocess.app.state.engine  # type: ignore[attr-defined]
    expected = {
        "skip": (True, 30),
        "run_once": (True, None),
        "run_all": (False, None),
    }
    for policy in expected:
        inprocess.post(
            BASE,
            json=every_second(
                policy, misfire={"policy": policy, "grace_s": 30}, max_instances=3, jitter_s=0.5
            ),
            headers=operator,
        )
    for policy, (coalesce, grace) in expected.items():

        def loaded(name: str = policy) -> bool:
            return any(job.name == name for job in engine.scheduler.get_jobs())

        wait_until(loaded, 5, f"the {policy} job")
        [job] = [j for j in engine.scheduler.get_jobs() if j.name == policy]
        assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (coalesce, grace, 3)
        assert job.trigger.jitter == 0.5


def test_a_schedule_runs_in_process_without_a_worker(
    inprocess: TestClient, operator: dict[str, str]
) -> None:
    wait_until(lambda: status(inprocess, operator)["this_replica_leads"], 10, "the engine to lead")
    body = status(inprocess, operator)
    assert (body["engine"], body["healthy"], body["leader"]) == ("apscheduler", True, "api-a")
    created_at = time.time()
    schedule = inprocess.post(BASE, json=every_second("tick"), headers=operator).json()
    sid = schedule["id"]
    wait_until(lambda: bool(runs(inprocess, operator, sid)), 5, "the first in-process run")
    first = runs(inprocess, operator, sid)[-1]
    assert first["state"] == "SUCCESS"
    assert first["task_id"].startswith("inproc-")
    assert fired(first) - created_at <= 2.0

    inprocess.post(f"{BASE}/{sid}/pause", headers=operator)
    paused_at = time.time()
    time.sleep(2.5)
    assert max(fired(r) for r in runs(inprocess, operator, sid)) <= paused_at + 1.0
    count = len(runs(inprocess, operator, sid))

    inprocess.post(f"{BASE}/{sid}/resume", headers=operator)
    wait_until(lambda: len(runs(inprocess, operator, sid)) > count, 5, "runs after resume")

    now = inprocess.post(f"{BASE}/{sid}/run", headers=operator)
    assert now.status_code == 202
    wait_until(
        lambda: any(r["detail"] == "run now" for r in runs(inprocess, operator, sid)),
        5,
        "the run-now run",
    )

    assert inprocess.delete(f"{BASE}/{sid}", headers=operator).status_code == 204
    time.sleep(1.5)
    engine = inprocess.app.state.engine  # type: ignore[attr-defined]
    assert engine.scheduler.get_jobs() == []


def test_two_in_process_replicas_run_each_slot_once(
    redis_url: str, jwt_secret: str, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    with (
        api(redis_url, jwt_secret, use_celery=False, node="api-a") as first,
        api(redis_url, jwt_secret, use_celery=False, node="api-b") as second,
    ):
        wait_until(lambda: status(first, operator)["healthy"], 10, "a leader")
        leaders = [status(c, operator)["this_replica_leads"] for c in (first, second)]
        assert sorted(leaders) == [False, True]
        # Written through the replica that does not lead: the leader picks it up.
        follower = second if leaders[0] else first
        sid = follower.post(BASE, json=every_second("shared"), headers=operator).json()["id"]
        wait_until(lambda: len(runs(first, operator, sid)) >= 4, 10, "four runs")
        slots = [r["slot"] for r in runs(first, operator, sid)]
        assert len(slots) == len(set(slots))


def test_status_in_celery_mode_follows_beat(
    redis_url: str, jwt_secret: str, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    with api(redis_url, jwt_secret, use_celery=True) as client:
        body = status(client, operator)
        assert (body["engine"], body["healthy"], body["leader"]) == ("celery", False, None)
        beat = BeatHeartbeat(node="beat@x", last_tick=time.time(), active=2)
        redis_client.set(keys.BEAT_HEARTBEAT, beat.to_json(), ex=30)
        body = status(client, operator)
        assert (body["healthy"], body["leader"]) == (True, "beat@x")
        assert client.get("/api/v1/scheduler/status").status_code == 401


@pytest.mark.slow
def test_switching_modes_keeps_every_schedule_firing(
    redis_url: str, jwt_secret: str, operator: dict[str, str]
) -> None:
    beat_env = {"REDIS_URL": redis_url, "SDP_BEAT_NODE_NAME": "beat-switch"}

    def all_fire_after(client: TestClient, ids: list[str], moment: float) -> None:
        wait_until(
            lambda: all(
                any(
                    fired(r) > moment and r["state"] == "SUCCESS" for r in runs(client, operator, i)
                )
                for i in ids
            ),
            15,
            "every schedule to fire",
        )

    with ExitStack() as stack:
        client = stack.enter_context(api(redis_url, jwt_secret, use_celery=True))
        ids = [
            client.post(BASE, json=every_second(f"s{n}"), headers=operator).json()["id"]
            for n in range(3)
        ]
        stack.enter_context(running_worker(redis_url))
        beat = stack.enter_context(spawn([sys.executable, "-m", "sdp_beat"], beat_env, name="beat"))
        all_fire_after(client, ids, time.time())
        beat.stop()
    switched = time.time()
    with api(redis_url, jwt_secret, use_celery=False) as client:
        all_fire_after(client, ids, switched)
    back = time.time()
    with (
        api(redis_url, jwt_secret, use_celery=True) as client,
        running_worker(redis_url),
        spawn([sys.executable, "-m", "sdp_beat"], beat_env, name="beat"),
    ):
        all_fire_after(client, ids, back)
        for sid in ids:
            slots = [r["slot"] for r in runs(client, operator, sid)]
            assert len(slots) == len(set(slots))


def aside_lines(caplog: pytest.LogCaptureFixture, schedule_id: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if "set aside until" in r.getMessage() and schedule_id in r.getMessage()
    ]


def test_a_schedule_the_engine_cannot_run_is_set_aside_and_the_others_keep_running(
    redis_url: str,
    jwt_secret: str,
    operator: dict[str, str],
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="sdp_schedules.aside")
    definitions = ScheduleDefinitions(redis_client)
    firing = ScheduleFiring(redis_client)
    good = definitions.create(every_second("a-good")).id
    # Met when the engine loads the store: a task gone from the catalogue, and a next slot
    # out of datetime's range (an entry edited by hand), stored through a leader's advance.
    undecodable = definitions.create(every_second("b-task-gone")).id
    rewrite_definition(redis_client, undecodable, task="system.retired")
    far = definitions.create(every_second("c-far-slot"))
    writer = LeaderLock(redis_client, "writer", 2_000)
    assert writer.ensure() and writer.token is not None
    assert firing.advance(far, far.next_slot_ms or 0, 10**16, writer.token) == 1
    writer.release()
    with api(redis_url, jwt_secret, use_celery=False) as client:
        wait_until(lambda: status(client, operator)["this_replica_leads"], 10, "the engine to lead")
        # Met as it runs: one that stops decoding behind the engine's back; one APScheduler
        # takes only with a grace of at least a second.
        later = client.post(BASE, json=every_second("d-later"), headers=operator).json()["id"]
        grace_0 = client.post(
            BASE,
            json=every_second("e-grace-0", misfire={"policy": "skip", "grace_s": 0}),
            headers=operator,
        ).json()["id"]
        wait_until(lambda: bool(runs(client, operator, later)), 10, "d-later to run")
        rewrite_definition(redis_client, later, trigger={"type": "weekly"})
        broken = {
            undecodable: "the stored definition no longer decodes: task: ",
            far.id: "OverflowError: ",
            later: "the stored definition no longer decodes: trigger: ",
        }

        def shown(schedule_id: str) -> dict[str, Any]:
            body: dict[str, Any] = client.get(f"{BASE}/{schedule_id}", headers=operator).json()
            return body

        wait_until(
            lambda: all(shown(i)["set_aside_at"] is not None for i in broken),
            15,
            "the engine to set them aside",
        )
        for schedule_id, reason in broken.items():
            assert shown(schedule_id)["state"] == "set_aside"
            assert shown(schedule_id)["set_aside_reason"].startswith(reason)
        assert status(client, operator)["schedules_set_aside"] == 3
        moment = time.time()

        def ran_since(schedule_id: str) -> bool:
            return any(fired(r) > moment for r in runs(client, operator, schedule_id))

        wait_until(lambda: ran_since(good) and ran_since(grace_0), 10, "the others to run")
        assert all(r["state"] == "SUCCESS" for r in runs(client, operator, good))
        time.sleep(1.5)
        engine = client.app.state.engine  # type: ignore[attr-defined]
        assert engine._thread.is_alive()
        assert {job.id for job in engine.scheduler.get_jobs()} == {good, grace_0}
    # Logged once each, however often the engine met them.
    for schedule_id in broken:
        assert len(aside_lines(caplog, schedule_id)) == 1, caplog.text
