"""The firing engine under a controlled clock on real Redis: once only, misfire, overlap, DST."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from sdp_beat.firing import BROKER_ERRORS, Command, FiringEngine
from sdp_core import keys
from sdp_core.replies import text
from sdp_schedules.definitions import Counts, ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.leader import LeaderLock
from sdp_schedules.records import Schedule, ScheduleState, decode_entry
from sdp_testing.clock import T0, Clock
from sdp_testing.schedules import rewrite_definition
from sdp_testing.schedules import schedule_doc as doc

# Beat's two send paths, which every firing test runs over.  claim-then-send: claim the slots,
# then send each through Celery (here a recording sender), as beat does for a broker that is
# not the schedule store's Redis.  lua-push: the FIRE script claims and pushes the messages
# the encoder built, in one step, as beat does when the broker is that Redis.
CLAIM_THEN_SEND, LUA_PUSH = "claim-then-send", "lua-push"
_queues = itertools.count()


class Broker:
    """Where the engine's sends land by one send path: ``sends`` are what reached a queue.

    ``fail`` stands for the broker being down; ``refuse`` names a schedule whose message
    cannot be built (as Celery cannot for a huge expiry).
    """

    def __init__(self, path: str, client: redis.Redis, refuse: str | None = None) -> None:
        self.path = path
        self.client = client
        self.refuse = refuse
        self.fail = False
        self.queue = f"test-queue-{next(_queues)}"
        self._sent: list[tuple[str, int, str]] = []
        self._lock = threading.Lock()

    def another(self) -> Broker:
        """A broker of its own on the same path, for a second engine."""
        return Broker(self.path, self.client)

    def send(self, schedule: Schedule, task_id: str, slot_ms: int) -> None:
        self._check(schedule)
        with self._lock:
            self._sent.append((schedule.spec.name, slot_ms, task_id))

    def encode(self, sends: Sequence[tuple[Schedule, str, int]]) -> list[list[Command]]:
        for schedule, _, _ in sends:
            self._check(schedule)
        return [
            [("lpush", self.queue, json.dumps([schedule.spec.name, slot, task_id]))]
            for schedule, task_id, slot in sends
        ]

    def _check(self, schedule: Schedule) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        if schedule.spec.name == self.refuse:
            raise OverflowError("Python int too large to convert to C int")

    @property
    def sends(self) -> list[tuple[str, int, str]]:
        """(schedule name, slot, task id) of each send, oldest first."""
        if self.path == CLAIM_THEN_SEND:
            return list(self._sent)
        # LPUSH puts the newest first.
        pushed = reversed(self.client.lrange(self.queue, 0, -1))
        return [(name, slot, task_id) for name, slot, task_id in map(json.loads, pushed)]

    @property
    def slots(self) -> list[tuple[str, int]]:
        return [(name, slot) for name, slot, _ in self.sends]

    @property
    def task_ids(self) -> list[str]:
        return [task_id for _, _, task_id in self.sends]


class Running:
    """Which task ids count as unfinished."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def __call__(self, task_ids: Sequence[str]) -> set[str]:
        return self.ids & set(task_ids)


@pytest.fixture(params=[CLAIM_THEN_SEND, LUA_PUSH])
def broker(request: pytest.FixtureRequest, redis_client: redis.Redis) -> Broker:
    return Broker(request.param, redis_client)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def definitions(redis_client: redis.Redis, clock: Clock) -> ScheduleDefinitions:
    return ScheduleDefinitions(redis_client, clock=clock)


@pytest.fixture
def firing(redis_client: redis.Redis, clock: Clock) -> ScheduleFiring:
    return ScheduleFiring(redis_client, clock=clock)


def engine(
    firing: ScheduleFiring,
    broker: Broker,
    running: Running | None = None,
    node: str = "beat-a",
    **options: Any,
) -> FiringEngine:
    lock = LeaderLock(firing.client, node, 5_000)
    options.setdefault("encode", broker.encode if broker.path == LUA_PUSH else None)
    return FiringEngine(firing, lock, broker.send, running or Running(), **options)


def tick(beat: FiringEngine) -> None:
    """A tick as the scheduler runs it: an error of the broker ends the tick, to be retried."""
    with contextlib.suppress(*BROKER_ERRORS):
        beat.tick()


def test_fixed_rate_slots_do_not_drift(
    definitions: ScheduleDefinitions, firing: ScheduleFiring, clock: Clock, broker: Broker
) -> None:
    schedule = definitions.create(doc("a"))
    beat = engine(firing, broker)
    assert beat.last_lag_ms is None
    for n in range(1, 11):
        # Each tick comes 700 ms late; the slots stay on the created + n * 30 s grid.
        clock.now = T0 + n * 30_000 + 700
        report = beat.tick()
        assert report.leading
        assert report.next_due_ms == T0 + (n + 1) * 30_000
        assert beat.last_lag_ms == 700
    assert broker.slots == [("a", T0 + n * 30_000) for n in range(1, 11)]
    stored = definitions.get(schedule.id)
    assert stored.run_count == 10
    assert [r.state for r in firing.runs(schedule.id)] == ["SENT"] * 10


def test_only_the_leader_fires(
    definitions: ScheduleDefinitions, clock: Clock, firing: ScheduleFiring, broker: Broker
) -> None:
    definitions.create(doc("a"))
    sent_a, sent_b = broker, broker.another()
    leader, standby = engine(firing, sent_a, node="a"), engine(firing, sent_b, node="b")
    clock.now = T0 + 30_000
    assert leader.tick().leading
    assert not standby.tick().leading
    clock.now = T0 + 60_000
    standby.tick()
    leader.tick()
    assert len(sent_a.slots) == 2
    assert sent_b.slots == []


def test_two_engines_that_both_believe_they_lead_fire_each_slot_once(
    definitions: ScheduleDefinitions,
    clock: Clock,
    redis_url: str,
    firing: ScheduleFiring,
    broker: Broker,
) -> None:
    for n in range(50):
        definitions.create(doc(f"s{n}", {"type": "interval", "every": 1}))
    first = engine(firing, broker, node="a")
    assert first.lock.ensure()
    # A second engine on its own connection that holds the very same token: a stale leader
    # whose lock looks valid.  Only the per-slot claim stands between them.
    second_firing = ScheduleFiring(redis.Redis.from_url(redis_url), clock=clock)
    second = engine(second_firing, broker, node="a")
    second.lock.token = first.lock.token
    second.lock.ensure()
    for step in range(1, 21):
        clock.now = T0 + 1_000 + step * 1_000
        threads = [threading.Thread(target=e.tick) for e in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(broker.slots) == len(set(broker.slots)) == 50 * 20


@pytest.mark.parametrize(
    ("policy", "sends", "missed"),
    [("skip", 0, 20), ("run_once", 1, 19), ("run_all", 20, 0)],
)
def test_misfire_policies_after_downtime(
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
    clock: Clock,
    policy: str,
    sends: int,
    missed: int,
    broker: Broker,
) -> None:
    schedule = definitions.create(
        doc("a", misfire={"policy": policy, "grace_s": 60}, max_instances=100)
    )
    # Ten minutes with no scheduler: slots at +30 s ... +600 s were all missed.
    clock.now = T0 + 600_000 + 500
    engine(firing, broker).tick()
    assert len(broker.slots) == sends
    if policy == "run_once":
        assert broker.slots == [("a", T0 + 600_000)]
    records = firing.runs(schedule.id)
    assert sum(r.count for r in records if r.state == "MISSED") == missed
    assert definitions.get(schedule.id).next_slot_ms == T0 + 630_000


def test_a_short_outage_within_grace_loses_no_slot(
    definitions: ScheduleDefinitions, clock: Clock, firing: ScheduleFiring, broker: Broker
) -> None:
    definitions.create(
        doc("a", {"type": "interval", "every": 1}, misfire={"policy": "skip"}, max_instances=10)
    )
    clock.now = T0 + 5_000
    engine(firing, broker).tick()
    assert [slot for _, slot in broker.slots] == [T0 + n * 1_000 for n in range(1, 6)]


def test_catch_up_is_bounded_per_tick(
    definitions: ScheduleDefinitions, clock: Clock, firing: ScheduleFiring, broker: Broker
) -> None:
    definitions.create(
        doc("a", {"type": "interval", "every": 1}, misfire={"policy": "run_all"}, max_instances=100)
    )
    beat = engine(firing, broker, catchup_limit=10)
    clock.now = T0 + 25_000
    report = beat.tick()
    assert len(broker.slots) == 10
    # The rest stays due, so the scheduler ticks again at once.
    assert report.next_due_ms == T0 + 11_000
    beat.tick()
    beat.tick()
    assert len(broker.slots) == 25
    assert len(set(broker.slots)) == 25


def test_max_instances_skips_while_runs_are_unfinished(
    definitions: ScheduleDefinitions, firing: ScheduleFiring, clock: Clock, broker: Broker
) -> None:
    # The catch-up sends of one tick count too: two pending slots, one instance allowed.
    other = definitions.create(doc("b", {"type": "interval", "every": 1}))
    clock.now = T0 + 2_000
    engine(firing, broker.another()).tick()
    assert [r.state for r in firing.runs(other.id)] == ["SKIPPED", "SENT"]
    definitions.delete(other.id)
    clock.now = T0
    schedule = definitions.create(doc("a", max_instances=1))
    running = Running()
    beat = engine(firing, broker, running)
    clock.now = T0 + 30_000
    beat.tick()
    running.ids.add(broker.task_ids[0])
    clock.now = T0 + 60_000
    beat.tick()
    assert len(broker.slots) == 1
    assert firing.runs(schedule.id)[0].state == "SKIPPED"
    running.ids.clear()
    clock.now = T0 + 90_000
    beat.tick()
    assert len(broker.slots) == 2


def test_a_failed_send_is_retried_not_lost(
    definitions: ScheduleDefinitions, clock: Clock, firing: ScheduleFiring, broker: Broker
) -> None:
    schedule = definitions.create(doc("a"))
    beat = engine(firing, broker)
    clock.now = T0 + 30_000
    broker.fail = True
    tick(beat)
    assert definitions.get(schedule.id).next_slot_ms == T0 + 30_000
    broker.fail = False
    clock.now = T0 + 31_000
    beat.tick()
    assert broker.slots == [("a", T0 + 30_000)]
    assert definitions.get(schedule.id).run_count == 1


def test_a_leader_that_lost_its_lock_steps_down(
    definitions: ScheduleDefinitions,
    clock: Clock,
    redis_client: redis.Redis,
    firing: ScheduleFiring,
    broker: Broker,
) -> None:
    definitions.create(doc("a"))
    beat = engine(firing, broker)
    assert beat.tick().leading
    redis_client.delete(beat.lock.key)
    assert engine(firing, broker.another(), node="other").lock.ensure()
    clock.now = T0 + 30_000
    assert not beat.tick().leading
    assert broker.slots == []


def test_a_deleted_schedule_left_in_the_due_set_is_dropped(
    definitions: ScheduleDefinitions,
    clock: Clock,
    redis_client: redis.Redis,
    firing: ScheduleFiring,
    broker: Broker,
) -> None:
    redis_client.zadd("sdp:sched:due", {"ghost": T0})
    clock.now = T0 + 1
    report = engine(firing, broker).tick()
    assert report.next_due_ms is None


def local_ms(zone: str, text: str) -> int:
    moment = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("day", "at", "fires_at_utc"),
    [
        # Spring forward: 02:30 does not exist; it runs once, when the gap ends (03:00 CEST).
        ("2026-03-29", "30 2", ["2026-03-29T01:00:00"]),
        # Fall back: 02:30 happens twice; it runs once, at the first.
        ("2026-10-25", "30 2", ["2026-10-25T00:30:00"]),
        ("2026-03-29", "0 9", ["2026-03-29T07:00:00"]),
        ("2026-10-25", "0 9", ["2026-10-25T08:00:00"]),
    ],
)
def test_daily_crontab_across_daylight_saving_changes(
    definitions: ScheduleDefinitions,
    clock: Clock,
    day: str,
    at: str,
    fires_at_utc: list[str],
    firing: ScheduleFiring,
    broker: Broker,
) -> None:
    minute, hour = at.split()
    zone = "Europe/Berlin"
    clock.now = local_ms(zone, f"{day}T00:00:00") - 60_000
    definitions.create(
        doc("daily", {"type": "crontab", "minute": minute, "hour": hour, "timezone": zone})
    )
    beat = engine(firing, broker)
    end = local_ms(zone, f"{day}T23:59:00")
    # One tick a minute through the whole local day, as a live scheduler would see it.
    while clock.now <= end:
        clock.now += 60_000
        beat.tick()
    fired = [
        datetime.fromtimestamp(slot / 1000, UTC).replace(tzinfo=None) for _, slot in broker.slots
    ]
    assert [f.isoformat() for f in fired] == fires_at_utc


def test_with_a_shared_broker_claim_enqueue_and_record_are_one_step(
    definitions: ScheduleDefinitions,
    firing: ScheduleFiring,
    clock: Clock,
    redis_client: redis.Redis,
) -> None:
    schedule = definitions.create(doc("a"))
    sent = Broker(CLAIM_THEN_SEND, redis_client)

    def encode(sends: Sequence[tuple[Schedule, str, int]]) -> list[list[Command]]:
        return [
            [("lpush", "test-queue", f"{task_id}@{slot}"), ("publish", "test-events", task_id)]
            for _, task_id, slot in sends
        ]

    events = redis_client.pubsub()  # type: ignore[no-untyped-call]
    events.subscribe("test-events")
    events.get_message(timeout=5)
    beat = engine(firing, sent, encode=encode)
    clock.now = T0 + 30_000
    assert beat.tick().sent == 1
    [message] = redis_client.lrange("test-queue", 0, -1)
    [run] = firing.runs(schedule.id)
    assert message == f"{run.task_id}@{T0 + 30_000}".encode()
    # The event went out in the same script as the message it tells of.
    published = events.get_message(timeout=5)
    assert published is not None
    assert published["data"] == str(run.task_id).encode()
    events.close()
    assert definitions.get(schedule.id).next_slot_ms == T0 + 60_000
    # Nothing went through the sender: the script pushed the message itself.
    assert sent.slots == []
    # A stale leader's firing writes nothing at all.
    stale = engine(firing, sent, node="stale", encode=encode)
    stale.lock.token = "1:stale"
    clock.now = T0 + 60_000
    stale_report = stale.tick()
    assert not stale_report.leading
    assert redis_client.llen("test-queue") == 1


def test_a_schedule_that_cannot_be_fired_is_set_aside_and_the_others_keep_firing(
    definitions: ScheduleDefinitions,
    clock: Clock,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
    firing: ScheduleFiring,
    broker: Broker,
) -> None:
    every_minute = {"type": "crontab", "minute": "*"}
    good = definitions.create(doc("good", {"type": "interval", "every": 60}))
    undecodable = definitions.create(doc("undecodable", every_minute))
    rewrite_definition(redis_client, undecodable.id, trigger={"type": "weekly"})
    unsendable = definitions.create(doc("unsendable", {"type": "interval", "every": 60}))
    broker.refuse = "unsendable"
    beat = engine(firing, broker)
    for minute in range(1, 4):
        clock.now = T0 + minute * 60_000
        beat.tick()
    assert broker.slots == [("good", T0 + m * 60_000) for m in range(1, 4)]
    # As stored: the API's reading of a definition that no longer decodes is its own matter.
    entries = {
        s.spec.name: decode_entry(text(redis_client.hget(keys.schedule_bucket(s.id), s.id)))
        for s in (undecodable, unsendable)
    }
    assert {name: entry["state"] for name, entry in entries.items()} == dict.fromkeys(
        entries, "set_aside"
    )
    assert {name: entry["reason"].split(":")[0] for name, entry in entries.items()} == {
        "undecodable": "the stored definition no longer decodes",
        "unsendable": "OverflowError",
    }
    assert definitions.get(unsendable.id).aside_reason == (
        "OverflowError: Python int too large to convert to C int"
    )
    assert definitions.counts() == Counts(active=1, paused=0, finished=0, set_aside=2)
    assert definitions.get(good.id).state is ScheduleState.active
    logged = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert sorted(r.getMessage().split()[2] for r in logged) == [
        "undecodable",
        "unsendable",
    ]
    assert all(r.levelname == "ERROR" for r in logged)
