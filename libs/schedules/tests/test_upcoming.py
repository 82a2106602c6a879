"""Upcoming fires on a real Redis, against every active schedule's fires enumerated one by one."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from sdp_core import keys
from sdp_core.replies import text
from sdp_schedules import upcoming as upcoming_module
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.records import Schedule, ScheduleState
from sdp_schedules.timing import from_ms, timetable, to_ms
from sdp_schedules.upcoming import Fire, Position, UpcomingTooCostly, upcoming
from sdp_testing.clock import Clock
from sdp_testing.schedules import schedule_doc

# The night Berlin springs forward (01:00 UTC), so crontabs in its zone cross the gap.
NOW = to_ms(datetime(2026, 3, 29, 0, 0, tzinfo=UTC))
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")


@pytest.fixture
def definitions(redis_client: redis.Redis) -> ScheduleDefinitions:
    return ScheduleDefinitions(redis_client, clock=Clock(NOW), rng=random.Random(7))


def iso(ms: int) -> str:
    return from_ms(ms).isoformat()


def random_document(rng: random.Random, index: int) -> dict[str, Any]:
    kind = rng.choice(("interval", "interval", "crontab", "crontab", "once"))
    trigger: dict[str, Any]
    if kind == "interval":
        trigger = {"type": "interval", "every": rng.randint(5, 240), "unit": "minutes"}
    elif kind == "crontab":
        trigger = {
            "type": "crontab",
            "minute": rng.choice(("*/15", "0", "15,45", "7-9", "*/20")),
            "hour": rng.choice(("*", "*", "1-3", "2", "0,4")),
            "day_of_week": rng.choice(("*", "*", "sun", "mon-fri")),
            "timezone": rng.choice(ZONES),
        }
    else:
        trigger = {"type": "once", "at": iso(NOW + rng.randint(1, 5 * HOUR_MS))}
    changes: dict[str, Any] = {"enabled": rng.random() > 0.1}
    if rng.random() < 0.2:
        changes["start_at"] = iso(NOW + rng.randint(-HOUR_MS, 3 * HOUR_MS))
    if rng.random() < 0.2:
        changes["end_at"] = iso(NOW + rng.randint(4 * HOUR_MS, 6 * HOUR_MS))
    if rng.random() < 0.2:
        changes["jitter_s"] = float(rng.randint(1, 600))
    return schedule_doc(f"s{index:04d}", trigger, **changes)


def brute_force(
    definitions: ScheduleDefinitions, client: redis.Redis, since: int, until: int
) -> list[Fire]:
    """Every active schedule's fires in the window, enumerated one schedule at a time."""
    fires = []
    page = definitions.page(state=ScheduleState.active, limit=10_000)
    assert page.next_cursor is None
    for schedule in page.items:
        assert isinstance(schedule, Schedule)
        score = client.zscore(keys.SCHEDULE_DUE, schedule.id)
        assert score is not None
        table = timetable(schedule.spec, schedule.created_ms)
        at: int | None = int(score)
        while at is not None and at <= until:
            if at >= since:
                fires.append(Fire(at, schedule.id, schedule.name, schedule.spec.task.value))
            at = table.next_after(at)
    return sorted(fires, key=lambda f: (f.at_ms, f.schedule_id))


def all_pages(definitions: ScheduleDefinitions, since: int, until: int, limit: int) -> list[Fire]:
    fires: list[Fire] = []
    after: Position | None = None
    for _ in range(10_000):
        page = upcoming(definitions, since, until, limit, after)
        assert len(page.items) <= limit
        fires += page.items
        if page.next_cursor is None:
            return fires
        assert len(page.items) == limit
        after = Position.parse(page.next_cursor)
    raise AssertionError("the pages never ended")


@pytest.fixture
def stored(definitions: ScheduleDefinitions, redis_client: redis.Redis) -> ScheduleDefinitions:
    rng = random.Random(20)
    definitions.create_many(random_document(rng, i) for i in range(300))
    # Some paused after they were active, and one deleted behind the due set's back.
    ids = [text(i) for i in redis_client.zrange(keys.SCHEDULE_DUE, 0, -1)]
    for schedule_id in rng.sample(ids, 10):
        definitions.pause(schedule_id)
    gone = rng.choice([i for i in ids if redis_client.zscore(keys.SCHEDULE_DUE, i) is not None])
    redis_client.hdel(keys.schedule_bucket(gone), gone)
    return definitions


# Each page projects every schedule due before its start, so a small page over a long window
# costs many reads: the page sizes are chosen per window.
@pytest.mark.parametrize(
    ("since", "until", "limits"),
    [
        (NOW, NOW + HOUR_MS, (37, 100)),
        (NOW + 30 * MINUTE_MS, NOW + 3 * HOUR_MS, (64,)),
        (NOW + 2 * HOUR_MS, NOW + 2 * HOUR_MS + 10 * MINUTE_MS, (1, 7)),
        (NOW + 5 * HOUR_MS, NOW + 5 * HOUR_MS, (1,)),
    ],
)
def test_one_page_and_many_pages_list_every_fire_in_order(
    stored: ScheduleDefinitions,
    redis_client: redis.Redis,
    since: int,
    until: int,
    limits: tuple[int, ...],
) -> None:
    expected = brute_force(stored, redis_client, since, until)
    assert expected or since == until
    whole = upcoming(stored, since, until, 100_000)
    assert whole.items == expected
    assert whole.next_cursor is None
    for limit in limits:
        assert all_pages(stored, since, until, limit) == expected


def test_paused_and_finished_schedules_have_no_fires(
    definitions: ScheduleDefinitions,
) -> None:
    paused = definitions.create(schedule_doc("paused", enabled=False))
    ended = definitions.create(schedule_doc("ended", end_at=iso(NOW + 45_000)))
    page = upcoming(definitions, NOW, NOW + HOUR_MS, 100)
    assert {f.schedule_id for f in page.items} == {ended.id}
    assert [f.at_ms for f in page.items] == [NOW + 30_000]
    assert paused.id not in {f.schedule_id for f in page.items}


def test_fires_at_one_time_page_by_schedule_id_without_repeats(
    definitions: ScheduleDefinitions,
) -> None:
    every_minute = {"type": "crontab", "minute": "*"}
    ids = definitions.create_many(schedule_doc(f"m{i}", every_minute) for i in range(20))
    fires = all_pages(definitions, NOW, NOW + 3 * MINUTE_MS, 3)
    assert [(f.at_ms, f.schedule_id) for f in fires] == [
        (NOW + minute * MINUTE_MS, schedule_id)
        for minute in (1, 2, 3)
        for schedule_id in sorted(ids)
    ]


def test_a_window_ahead_projects_schedules_due_before_it(
    definitions: ScheduleDefinitions,
) -> None:
    created = definitions.create(schedule_doc("half-hourly", {"type": "interval", "every": 1_800}))
    day = 24 * HOUR_MS
    page = upcoming(definitions, NOW + day, NOW + day + HOUR_MS, 10)
    # A window's start and end are both in it.
    assert [f.at_ms for f in page.items] == [NOW + day, NOW + day + 1_800_000, NOW + day + HOUR_MS]
    assert {f.schedule_id for f in page.items} == {created.id}
    assert page.items[0].name == "half-hourly"
    assert page.items[0].task == "system.noop"


def test_the_next_fire_is_at_its_jittered_due_time_and_later_ones_at_their_slots(
    definitions: ScheduleDefinitions, redis_client: redis.Redis
) -> None:
    created = definitions.create(
        schedule_doc("jittered", {"type": "interval", "every": 600}, jitter_s=300.0)
    )
    due = int(redis_client.zscore(keys.SCHEDULE_DUE, created.id) or 0)
    assert NOW + 600_000 <= due <= NOW + 900_000
    page = upcoming(definitions, NOW, NOW + 25 * MINUTE_MS, 10)
    assert [f.at_ms for f in page.items] == [due, NOW + 1_200_000]


def test_more_schedules_due_before_the_start_than_the_budget_is_refused(
    definitions: ScheduleDefinitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    definitions.create_many(schedule_doc(f"b{i}") for i in range(5))
    monkeypatch.setattr(upcoming_module, "BEHIND_BUDGET", 4)
    assert len(upcoming(definitions, NOW, NOW + HOUR_MS, 10).items) == 10
    with pytest.raises(UpcomingTooCostly, match="more than 4 active schedules"):
        upcoming(definitions, NOW + MINUTE_MS, NOW + HOUR_MS, 10)
