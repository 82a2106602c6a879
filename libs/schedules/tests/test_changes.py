"""Waiting for schedule changes on a real Redis: every write's id, a burst as one wake-up."""

from __future__ import annotations

import redis

from sdp_schedules.changes import ScheduleChanges
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_testing.schedules import schedule_doc


def test_a_wait_names_each_schedule_written_and_a_closed_one_subscribes_again(
    redis_client: redis.Redis,
) -> None:
    definitions = ScheduleDefinitions(redis_client)
    changes = ScheduleChanges(redis_client)
    # The first wait subscribes; it ends on the confirmation, which is no change.
    assert changes.wait(1) == []
    schedule = definitions.create(schedule_doc())
    definitions.pause(schedule.id)
    seen: list[str] = []
    for _ in range(10):
        seen += changes.wait(1)
        if len(seen) >= 2:
            break
    assert seen == [schedule.id] * 2
    changes.close()
    assert changes.wait(1) == []
    definitions.resume(schedule.id)
    assert changes.wait(1) == [schedule.id]
    changes.close()
