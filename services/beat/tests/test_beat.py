"""Beat as real `celery beat` processes on a real Redis: HA, exactly once, changes, health."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import ValidationError

from sdp_beat.app import create_app
from sdp_beat.settings import BeatSettings
from sdp_beat.static import seed_static
from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.heartbeat import read_heartbeat
from sdp_core.replies import text
from sdp_core.settings import CommonSettings
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.entries import now_ms
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.records import Run, decode_entry
from sdp_testing.beat import sent_messages, start_beat
from sdp_testing.processes import ServiceProcess, wait_until
from sdp_testing.redis_server import (
    free_port,
    redis_server_args,
    wait_for_redis,
)
from sdp_testing.schedules import rewrite_definition


def test_static_schedule_has_cleanup() -> None:
    app = create_app(BeatSettings(cleanup_every_s=120))
    entry = app.conf.beat_schedule["system.cleanup"]
    assert entry["task"] == "system.cleanup"
    assert entry["schedule"] == 120.0


def test_heartbeat_must_outlive_the_lock() -> None:
    with pytest.raises(ValidationError, match="heartbeat_ttl_s"):
        BeatSettings(lock_ttl_s=10, heartbeat_ttl_s=10)


def health(redis_url: str, node: str) -> int:
    env = {"REDIS_URL": redis_url, "SDP_BEAT_NODE_NAME": node, "PATH": ""}
    return subprocess.run(
        [sys.executable, "-m", "sdp_beat.health"], env=env, capture_output=True, timeout=30
    ).returncode


def leader(client: redis.Redis) -> str | None:
    beat = read_heartbeat(client)
    return None if beat is None else beat.node


def every_second(definitions: ScheduleDefinitions, count: int, **changes: Any) -> list[str]:
    return [
        definitions.create(
            {
                "name": f"tick-{n:03}",
                "task": "system.noop",
                "trigger": {"type": "interval", "every": 1},
                "max_instances": 100,
                **changes,
            }
        ).id
        for n in range(count)
    ]


def sent_runs(firing: ScheduleFiring, schedule_id: str) -> list[Run]:
    return [r for r in firing.runs(schedule_id, limit=1_000) if r.state == "SENT"]


def first_run(firing: ScheduleFiring, schedule_id: str, timeout_s: float) -> Run:
    wait_until(lambda: bool(sent_runs(firing, schedule_id)), timeout_s, "a run")
    return sent_runs(firing, schedule_id)[-1]


@pytest.fixture
def definitions(redis_client: redis.Redis) -> ScheduleDefinitions:
    return ScheduleDefinitions(redis_client)


@pytest.fixture
def firing(redis_client: redis.Redis) -> ScheduleFiring:
    return ScheduleFiring(redis_client, runs_kept=1_000)


def test_beat_heartbeats_seeds_static_entries_and_health_follows(
    redis_url: str, redis_client: redis.Redis, definitions: ScheduleDefinitions
) -> None:
    assert health(redis_url, "beat-a") == 1
    with ExitStack() as stack:
        beat = start_beat(stack, redis_url, "beat-a")
        wait_until(lambda: leader(redis_client) == "beat-a", 30, "beat-a to lead")
        assert health(redis_url, "beat-a") == 0
        cleanup = definitions.find("system.cleanup")
        assert cleanup is not None
        assert cleanup.static
        heartbeat = read_heartbeat(redis_client)
        assert heartbeat is not None
        assert (heartbeat.active, heartbeat.paused) == (1, 0)
        assert beat.alive()
    # A clean stop hands the lock and both heartbeats back at once.
    assert redis_client.get(keys.SCHEDULE_LEADER) is None
    assert read_heartbeat(redis_client) is None
    assert health(redis_url, "beat-a") == 1


def test_static_entries_removed_from_configuration_are_pruned(
    redis_url: str, redis_client: redis.Redis, definitions: ScheduleDefinitions
) -> None:
    stale = definitions.create(
        {"name": "old-static", "task": "system.noop", "trigger": {"type": "interval", "every": 60}},
        static=True,
    )
    with ExitStack() as stack:
        start_beat(stack, redis_url, "beat-a")
        wait_until(lambda: definitions.find("old-static") is None, 30, "the stale entry to go")
    assert definitions.find("system.cleanup") is not None
    assert redis_client.sismember(keys.SCHEDULE_STATIC, stale.id) == 0


def test_bad_static_configuration_is_logged_and_never_stops_the_seeding(
    definitions: ScheduleDefinitions,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
    firing: ScheduleFiring,
) -> None:
    good = {"task": "system.noop", "schedule": 60.0}
    seed_static(definitions, {"kept": good}, "UTC")
    kept = definitions.find("kept")
    assert kept is not None
    # Its stored definition no longer decodes (the firing sets such a one aside).
    rewrite_definition(redis_client, kept.id, trigger={"type": "weekly"})
    beat_schedule: dict[str, Any] = {
        "kept": good,
        "infinite": {"task": "system.noop", "schedule": float("inf")},
        "not-a-number": {"task": "system.noop", "schedule": float("nan")},
        "no-task": {"schedule": 60.0},
        "unknown-task": {"task": "nope.nothing", "schedule": 60.0},
        "not-a-mapping": "system.noop",
        "bad-args": {"task": "system.noop", "schedule": 60.0, "args": 5},
        "fine": good,
    }
    seed_static(definitions, beat_schedule, "UTC")
    assert definitions.find("fine") is not None
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert {name for name in beat_schedule if any(repr(name) in m for m in errors)} == (
        set(beat_schedule) - {"fine"}
    )


def test_two_replicas_fire_each_slot_exactly_once(
    redis_url: str,
    redis_client: redis.Redis,
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
) -> None:
    ids = every_second(definitions, 20)
    with ExitStack() as stack:
        start_beat(stack, redis_url, "beat-a")
        start_beat(stack, redis_url, "beat-b")
        wait_until(lambda: all(len(sent_runs(firing, i)) >= 5 for i in ids), 30, "five rounds")
    messages = sent_messages(redis_client)
    slots = Counter((m["headers"]["sdp_schedule"], m["headers"]["sdp_slot"]) for m in messages)
    assert slots, "nothing was sent"
    assert max(slots.values()) == 1
    for schedule_id in ids:
        runs = sent_runs(firing, schedule_id)
        assert len({r.slot_ms for r in runs}) == len(runs)
        # Fixed-rate: consecutive slots exactly one period apart, none skipped.
        ordered = sorted(r.slot_ms for r in runs)
        assert {b - a for a, b in pairwise(ordered)} == {1_000}
    assert len(messages) == sum(len(sent_runs(firing, i)) for i in ids)


def test_a_change_wakes_the_scheduler(
    redis_url: str, definitions: ScheduleDefinitions, firing: ScheduleFiring
) -> None:
    with ExitStack() as stack:
        start_beat(stack, redis_url, "beat-a")
        wait_until(lambda: definitions.find("system.cleanup") is not None, 30, "beat to start")
        time.sleep(1)
        lags: list[float] = []
        for n in range(3):
            # Beat is asleep until its next lock refresh; a one-off due in 300 ms must
            # still go out on time, because the write wakes it.
            at = time.time() + 0.3
            schedule = definitions.create(
                {
                    "name": f"once-{n}",
                    "task": "system.noop",
                    "trigger": {
                        "type": "once",
                        "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
                        + f".{int(at % 1 * 1e6):06d}+00:00",
                    },
                }
            )
            run = first_run(firing, schedule.id, 5)
            lags.append(run.fired_ms / 1000 - at)
        assert max(lags) < 0.25, lags
        ticking = every_second(definitions, 1)[0]
        first_run(firing, ticking, 5)
        definitions.pause(ticking)
        paused_at = time.time()
        time.sleep(2)
        assert all(r.fired_ms / 1000 <= paused_at + 0.05 for r in sent_runs(firing, ticking))


@pytest.mark.slow
def test_kill_9_of_the_leader_fails_over_without_losing_or_doubling_a_slot(
    redis_url: str,
    redis_client: redis.Redis,
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
) -> None:
    ids = every_second(definitions, 10)
    with ExitStack() as stack:
        first = start_beat(stack, redis_url, "beat-a")
        wait_until(lambda: leader(redis_client) == "beat-a", 30, "beat-a to lead")
        start_beat(stack, redis_url, "beat-b")
        wait_until(lambda: health(redis_url, "beat-b") == 0, 30, "beat-b to stand by")
        time.sleep(2)
        first.signal(signal.SIGKILL)
        killed_at = time.time()
        wait_until(lambda: leader(redis_client) == "beat-b", 10, "beat-b to take over")
        wait_until(
            lambda: any(
                r.fired_ms / 1000 > killed_at + 0.5 for i in ids for r in sent_runs(firing, i)
            ),
            10,
            "a slot fired by beat-b",
        )
        takeover_s = (
            min(
                r.fired_ms / 1000
                for i in ids
                for r in sent_runs(firing, i)
                if r.fired_ms / 1000 > killed_at
            )
            - killed_at
        )
        time.sleep(2)
    # The lock TTL is 2 s: beat-b fires within TTL + 1 s.
    assert takeover_s <= 3.0, takeover_s
    for schedule_id in ids:
        ordered = sorted(r.slot_ms for r in sent_runs(firing, schedule_id))
        assert len(ordered) == len(set(ordered))
        # Within the 60 s grace the missed slots are caught up: no gap in the grid.
        assert {b - a for a, b in pairwise(ordered)} == {1_000}


@pytest.mark.slow
def test_a_replica_that_loses_its_lock_steps_down_and_competes_again(
    redis_url: str,
    redis_client: redis.Redis,
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
) -> None:
    [schedule_id] = every_second(definitions, 1)
    with ExitStack() as stack:
        beat = start_beat(stack, redis_url, "beat-a")
        wait_until(lambda: leader(redis_client) == "beat-a", 30, "beat-a to lead")
        # Someone else holds the lock for 3 s (as after a long pause of this replica).
        redis_client.set(keys.SCHEDULE_LEADER, "999999:intruder", px=3_000)
        stolen_at = time.time()
        time.sleep(2.5)
        assert not any(r.fired_ms / 1000 > stolen_at + 0.1 for r in sent_runs(firing, schedule_id))
        wait_until(
            lambda: any(r.fired_ms / 1000 > stolen_at + 3 for r in sent_runs(firing, schedule_id)),
            10,
            "beat-a to lead again",
        )
        assert beat.alive()
        assert "lost the leader lock" in beat.log()
        assert "Traceback" not in beat.log()


@pytest.mark.slow
def test_beat_survives_a_redis_restart(tmp_path: Path, redis_server_path: str) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    args = redis_server_args(redis_server_path, port, str(tmp_path), appendonly=True)
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        wait_for_redis(url)
        client = redis.Redis.from_url(url)
        definitions = ScheduleDefinitions(client)
        firing = ScheduleFiring(client, runs_kept=1_000)
        [schedule_id] = every_second(definitions, 1)
        with ExitStack() as stack:
            beat = start_beat(stack, url, "beat-a")
            wait_until(lambda: len(sent_runs(firing, schedule_id)) >= 2, 30, "beat to fire")
            server.terminate()
            server.wait(timeout=10)
            time.sleep(3)
            assert beat.alive()
            server = subprocess.Popen(args, stdout=subprocess.DEVNULL)
            wait_for_redis(url)
            back_at = time.time()
            wait_until(
                lambda: any(r.fired_ms / 1000 > back_at for r in sent_runs(firing, schedule_id)),
                15,
                "beat to fire again",
            )
            assert beat.alive()
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def stored_state(client: redis.Redis, schedule_id: str) -> dict[str, str]:
    """An entry's fields as stored, whether or not its definition still decodes."""
    return decode_entry(text(client.hget(keys.schedule_bucket(schedule_id), schedule_id)))


def set_aside_lines(beat: ServiceProcess) -> list[str]:
    return [line for line in beat.log().splitlines() if "set aside until" in line]


def test_a_schedule_that_cannot_be_fired_is_set_aside_and_beat_keeps_firing_the_others(
    redis_url: str,
    redis_client: redis.Redis,
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
) -> None:
    # Written before the model refused such values, or by hand: accepted, but unfireable.
    [good] = every_second(definitions, 1)
    [overflow] = every_second(definitions, 1, name="huge-expiry", expires_s=30)
    rewrite_definition(redis_client, overflow, expires_s=9_223_372_036_854_775_807)
    [undecodable] = every_second(definitions, 1, name="no-longer-valid")
    rewrite_definition(redis_client, undecodable, trigger={"type": "weekly"})
    # Created two minutes ago, so its first minute is due at once.
    earlier = ScheduleDefinitions(redis_client, clock=lambda: now_ms() - 120_000)
    beyond = earlier.create(
        {"name": "beyond-9999", "task": "system.noop", "trigger": {"type": "crontab"}}
    ).id
    # Its timetable ends before year 3000: it finishes instead of failing.
    rewrite_definition(redis_client, beyond, start_at="9999-12-31T23:59:30Z")
    bad = {overflow: "OverflowError", undecodable: "the stored definition no longer decodes"}

    def heartbeat_counts() -> tuple[int, int] | None:
        beat = read_heartbeat(redis_client)
        return None if beat is None else (beat.active, beat.set_aside)

    with ExitStack() as stack:
        beat = start_beat(stack, redis_url, "beat-a")
        wait_until(
            lambda: not beat.alive() or len(sent_runs(firing, good)) >= 3, 60, "3 runs of good"
        )
        assert beat.alive(), beat.log()[-3000:]
        for schedule_id, error in bad.items():
            entry = stored_state(redis_client, schedule_id)
            assert entry["state"] == "set_aside"
            assert entry["reason"].startswith(error)
        assert stored_state(redis_client, beyond)["state"] == "finished"
        assert redis_client.zrange(keys.SCHEDULE_DUE, 0, -1) != []
        assert set(bad).isdisjoint(text(i) for i in redis_client.zrange(keys.SCHEDULE_DUE, 0, -1))
        # Logged once each, however many ticks passed since.
        lines = set_aside_lines(beat)
        assert sorted(next(i for i in bad if i in line) for line in lines) == sorted(bad)
        assert all("ERROR" in line for line in lines)
        # Active: good and the static cleanup.
        wait_until(lambda: heartbeat_counts() == (2, 2), 30, "the heartbeat to count them")
        beat.stop()

        # A restarted beat does not meet them again.
        restarted = start_beat(stack, redis_url, "beat-a")
        runs_before = len(sent_runs(firing, good))
        wait_until(
            lambda: not restarted.alive() or len(sent_runs(firing, good)) >= runs_before + 2,
            60,
            "good to fire after the restart",
        )
        assert restarted.alive(), restarted.log()[-3000:]
        assert set_aside_lines(restarted) == []

        # A fix brings it back, from the next slot after now.
        fixed = definitions.replace(
            overflow,
            {
                "name": "huge-expiry",
                "task": "system.noop",
                "trigger": {"type": "interval", "every": 1},
                "expires_s": 30,
            },
        )
        assert fixed.state.value == "active"
        assert fixed.next_slot_ms is not None
        assert fixed.next_slot_ms > fixed.updated_ms
        first_run(firing, overflow, 30)
        wait_until(lambda: heartbeat_counts() == (3, 1), 30, "the heartbeat to count the fix")
        assert restarted.alive()


@pytest.mark.parametrize("own_broker", [False, True], ids=["one-step", "broker-elsewhere"])
def test_each_scheduled_send_emits_the_task_sent_event_celery_would(
    redis_url: str, definitions: ScheduleDefinitions, own_broker: bool, firing: ScheduleFiring
) -> None:
    # Another database stands for a broker elsewhere: beat then claims first and sends
    # through kombu's publish batch.
    broker = redis_url.rsplit("/", 1)[0] + "/1" if own_broker else redis_url
    receiver_app = make_celery(
        "test-events", CommonSettings(redis_url=redis_url, broker_url=broker)
    )
    sent: list[dict[str, Any]] = []
    probes: list[dict[str, Any]] = []
    connection = receiver_app.connection_for_read()
    receiver = receiver_app.events.Receiver(
        connection, handlers={"task-sent": sent.append, "*": probes.append}
    )
    listener = threading.Thread(target=receiver.capture, kwargs={"wakeup": False}, daemon=True)
    listener.start()
    with receiver_app.events.default_dispatcher() as dispatcher:
        wait_until(
            lambda: bool(dispatcher.send("test-probe") or probes), 30, "the receiver to listen"
        )
    [schedule_id] = every_second(definitions, 1)
    with ExitStack() as stack:
        beat = start_beat(stack, redis_url, "beat-a", CELERY_BROKER_URL=broker)
        wait_until(lambda: len(sent_runs(firing, schedule_id)) >= 3, 60, "3 runs")
        beat.stop()
    runs = {r.task_id: r for r in sent_runs(firing, schedule_id)}
    wait_until(lambda: len(sent) >= len(runs), 30, "an event for every run")
    receiver.should_stop = True
    listener.join(30)
    connection.release()
    receiver_app.close()
    events = {event["uuid"]: event for event in sent}
    assert set(events) == set(runs)
    with redis.Redis.from_url(broker) as on_broker:
        assert len(sent_messages(on_broker)) == len(runs)
    for event in events.values():
        assert event["type"] == "task-sent"
        assert (event["name"], event["queue"], event["routing_key"]) == (
            "system.noop",
            "system",
            "system",
        )
        assert event["root_id"] == event["uuid"]
        assert {"hostname", "pid", "clock", "timestamp", "utcoffset", "retries"} <= set(event)
    clocks = [event["clock"] for event in sorted(sent, key=lambda e: e["timestamp"])]
    assert clocks == sorted(clocks)
    assert len(set(clocks)) == len(clocks)
