"""Beat's leader SIGKILLed three times in a minute of twenty one-second schedules: no slot is
lost and none is sent twice.

Three real `python -m sdp_beat` replicas on a real Redis, with a 2 s leader lock. Each failover
takes a few seconds, well within the schedules' misfire grace (60 s, the default): within the
grace every policy sends every pending slot (sdp_schedules.plan), so the slots of each
schedule must form an unbroken one-second grid, whatever its policy. No worker consumes the
queue, so every message beat sent is still there to be counted against the run records.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from contextlib import ExitStack
from functools import partial
from itertools import pairwise

import pytest
import redis

from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.leader import LeaderLock
from sdp_schedules.records import Run
from sdp_testing.beat import sent_messages, start_beat
from sdp_testing.processes import ServiceProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

NODES = ("beat-a", "beat-b", "beat-c")
SCHEDULES = 20
RUN_S = 60
# Seconds into the run at which the leader of the moment is killed.
KILLS_AT_S = (12, 28, 44)
POLICIES = ("skip", "run_once", "run_all")
# More than the run can record, so no run record is trimmed before it is counted.
RUNS_KEPT = {"SDP_SCHEDULE_RUNS_KEPT": "1000"}


def holder(client: redis.Redis) -> str | None:
    return LeaderLock(client, "chaos-observer", 1_000).holder()


def taken_over(client: redis.Redis, victim: str) -> bool:
    return holder(client) not in (None, victim)


def sent_runs(firing: ScheduleFiring, schedule_id: str) -> list[Run]:
    return [run for run in firing.runs(schedule_id, limit=1_000) if run.state == "SENT"]


@pytest.mark.timeout(RUN_S + 240)
def test_three_leader_kills_in_a_minute_lose_no_slot_and_send_none_twice(
    redis_url: str, redis_client: redis.Redis
) -> None:
    definitions = ScheduleDefinitions(redis_client)
    firing = ScheduleFiring(redis_client, runs_kept=1_000)
    ids = [
        definitions.create(
            {
                "name": f"chaos-{n:02}",
                "task": "system.noop",
                "trigger": {"type": "interval", "every": 1},
                "misfire": {"policy": POLICIES[n % len(POLICIES)]},
                # Nothing consumes the queue: let every slot go out.
                "max_instances": 100,
            }
        ).id
        for n in range(SCHEDULES)
    ]
    kills: list[tuple[str, float, str]] = []  # (killed, when, who took over)
    with ExitStack() as stack:
        beats: dict[str, ServiceProcess] = {
            node: start_beat(stack, redis_url, node, **RUNS_KEPT) for node in NODES
        }
        wait_until(lambda: holder(redis_client) is not None, 60, "a leader")
        wait_until(lambda: all(sent_runs(firing, i) for i in ids), 30, "every schedule to fire")
        begun = time.monotonic()
        for at_s in KILLS_AT_S:
            time.sleep(max(0.0, begun + at_s - time.monotonic()))
            victim = holder(redis_client)
            assert victim in beats, victim
            beats[victim].signal(signal.SIGKILL)
            beats[victim].proc.wait(timeout=30)
            killed_at = time.time()
            wait_until(partial(taken_over, redis_client, victim), 30, f"a successor to {victim}")
            successor = holder(redis_client)
            assert successor is not None
            kills.append((victim, killed_at, successor))
            # As a supervisor would: the same replica again, under its own name.
            beats[victim] = start_beat(stack, redis_url, victim, **RUNS_KEPT)
        time.sleep(max(0.0, begun + RUN_S - time.monotonic()))
        last_kill = kills[-1][1]
        wait_until(
            lambda: all(
                any(run.fired_ms / 1000 > last_kill + 1 for run in sent_runs(firing, i))
                for i in ids
            ),
            30,
            "every schedule to fire after the last kill",
        )
        assert all(beat.alive() for beat in beats.values())
    assert len(kills) == len(KILLS_AT_S)
    assert all(victim != successor for victim, _, successor in kills)

    messages = sent_messages(redis_client)
    slots = Counter((m["headers"]["sdp_schedule"], m["headers"]["sdp_slot"]) for m in messages)
    assert slots, "nothing was sent"
    duplicates = {slot: count for slot, count in slots.items() if count > 1}
    assert not duplicates
    recorded = 0
    for schedule_id in ids:
        runs = firing.runs(schedule_id, limit=1_000)
        assert {run.state for run in runs} == {"SENT"}, schedule_id
        ordered = sorted(run.slot_ms for run in runs)
        recorded += len(ordered)
        assert len(ordered) == len(set(ordered)), schedule_id
        # No slot lost: one every second from the first to the last, across every failover.
        assert {b - a for a, b in pairwise(ordered)} == {1_000}, schedule_id
        assert ordered[0] / 1000 < kills[0][1] and ordered[-1] / 1000 > last_kill
        assert {(schedule_id, str(slot)) for slot in ordered} == {
            (schedule, str(slot)) for schedule, slot in slots if schedule == schedule_id
        }
    # Every message is one run record, and nothing else was sent.
    assert recorded == len(messages)
