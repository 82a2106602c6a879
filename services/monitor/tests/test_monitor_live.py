"""Live state from Celery events, driven directly: heartbeats, offline, purge, task counts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery.utils.time import utcoffset

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings
from sdp_monitor.cluster.series import SeriesRing
from sdp_monitor.history.writer import HistoryWriter
from sdp_monitor.metrics import MonitorMetrics
from sdp_monitor.stream.consumer import EventConsumer
from sdp_monitor.stream.feed import ChangeFeed
from sdp_monitor.stream.live import LiveState, LiveTask, WorkerFacts
from sdp_monitor.stream.routing import EventRouter, TextCaps
from sdp_testing.clock import Clock
from sdp_testing.processes import wait_until
from sdp_testing.redis_server import SentinelCluster

from .support import event, publish_events


@pytest.fixture
def clock() -> Clock[float]:
    return Clock(1_000_000.0)


@pytest.fixture
def live(clock: Clock[float]) -> LiveState:
    return LiveState(
        missed_heartbeats=3, purge_after_s=60, max_tasks=100, clock=clock, monotonic=clock
    )


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def metrics() -> MonitorMetrics:
    return MonitorMetrics()


@pytest.fixture
def router(
    live: LiveState,
    redis_client: redis.Redis,
    loop: asyncio.AbstractEventLoop,
    metrics: MonitorMetrics,
) -> EventRouter:
    return EventRouter(
        live,
        HistoryWriter(redis_client, max_tasks=1_000, max_age_s=3_600),
        feed=ChangeFeed(loop),
        metrics=metrics,
        series=SeriesRing(step_s=5, capacity=720),
        caps=TextCaps(text=20, traceback=50),
        describe=lambda name: None,
    )


def beat(name: str, **fields: Any) -> dict[str, Any]:
    return {"hostname": name, "freq": 2.0, "active": 0, "processed": 0, **fields}


def test_a_worker_goes_offline_after_missed_heartbeats_and_is_purged_later(
    live: LiveState, clock: Clock[float]
) -> None:
    assert live.heartbeat("w1@h", beat("w1@h", processed=7)) is True  # not described yet
    assert live.online() == ["w1@h"]
    clock.now += 5.9  # under three 2 s heartbeats
    assert live.online() == ["w1@h"]
    clock.now += 0.2
    assert live.online() == []
    assert live.sweep() == (["w1@h"], [])
    [(worker, online)] = live.workers()
    assert (worker.name, online, worker.processed) == ("w1@h", False, 7)
    clock.now += 60
    assert live.sweep() == ([], ["w1@h"])
    assert live.workers() == []


def test_worker_offline_event_is_immediate_and_a_heartbeat_revives(
    live: LiveState, clock: Clock[float]
) -> None:
    live.heartbeat("w1@h", beat("w1@h"))
    live.heartbeat("w1@h", beat("w1@h"), leaving=True)
    assert live.online() == []
    clock.now += 1
    live.heartbeat("w1@h", beat("w1@h"), hello=True)
    assert live.online() == ["w1@h"]


def test_a_described_worker_is_not_inspected_again_until_it_restarts(live: LiveState) -> None:
    live.heartbeat("w1@h", beat("w1@h"))
    live.describe("w1@h", WorkerFacts("prefork", 4, 42, ("system",)), asked_at=0)
    assert live.heartbeat("w1@h", beat("w1@h")) is False
    [(worker, _)] = live.workers()
    assert (worker.pool, worker.concurrency, worker.queues) == ("prefork", 4, ("system",))
    assert live.heartbeat("w1@h", beat("w1@h"), hello=True) is True
    live.forget_facts()
    assert live.heartbeat("w1@h", beat("w1@h")) is True


def test_a_worker_a_control_call_changed_is_asked_until_an_inspect_answers(
    live: LiveState,
) -> None:
    for name in ("w1@h", "w2@h"):
        live.heartbeat(name, beat(name))
        live.describe(name, WorkerFacts("prefork", 2, 42, ("system",)), asked_at=0)
    live.forget_facts(["w1@h"])
    # Its inspect went unanswered: every heartbeat asks again, and the other's none.
    for _ in range(2):
        assert live.heartbeat("w1@h", beat("w1@h")) is True
        assert live.heartbeat("w2@h", beat("w2@h")) is False
    live.describe("w1@h", WorkerFacts("prefork", 1, 42, ("system",)), asked_at=0)
    assert live.heartbeat("w1@h", beat("w1@h")) is False


def test_tasks_count_as_reserved_active_or_scheduled_while_their_worker_lives(
    router: EventRouter, live: LiveState, clock: Clock[float]
) -> None:
    handle = router.handlers
    for name in ("w1@h", "w2@h"):
        handle["worker-heartbeat"](beat(name))
    handle["task-sent"](event("task-sent", "a", 1.0, name="system.sleep", queue="system"))
    handle["task-received"](event("task-received", "a", 2.0, name="system.sleep", hostname="w1@h"))
    handle["task-received"](event("task-received", "b", 2.0, name="etl.transform", hostname="w1@h"))
    later = "2999-01-01T00:00:00+00:00"
    handle["task-received"](
        event("task-received", "c", 2.0, name="x.y", hostname="w2@h", eta=later)
    )
    counts = live.counts()
    assert (counts.active, counts.reserved, counts.scheduled) == (0, 2, 1)
    handle["task-started"](event("task-started", "a", 3.0, hostname="w1@h"))
    handle["task-started"](event("task-started", "b", 3.0, hostname="w1@h"))
    counts = live.counts()
    assert (counts.active, counts.reserved, counts.scheduled) == (2, 0, 1)
    # The sent event's queue, else the queue the name routes to.
    assert counts.processing == {"system": 1, "etl": 1}
    assert counts.active_by_worker == {"w1@h": 2}
    handle["task-succeeded"](event("task-succeeded", "a", 4.0, result="1", runtime=1.0))
    assert live.counts().active == 1
    # w1 stops beating: what it held no longer counts, and is forgotten at the sweep.
    clock.now += 10
    handle["worker-heartbeat"](beat("w2@h"))
    live.sweep()
    counts = live.counts()
    assert (counts.active, counts.scheduled) == (0, 1)


def test_an_inspect_replaces_what_events_said_before_it(
    live: LiveState, clock: Clock[float]
) -> None:
    live.heartbeat("w1@h", beat("w1@h"))
    live.received("gone", "system.noop", "w1@h", None, 1.0)
    clock.now += 1
    held = LiveTask("held", "system.sleep", "w1@h", "system", "STARTED")
    live.describe("w1@h", WorkerFacts("prefork", 2, 1, ("system",), (held,)), asked_at=clock())
    counts = live.counts()
    assert (counts.active, counts.reserved) == (1, 0)


def test_a_task_heard_after_an_inspect_was_sent_outlives_its_reply(
    live: LiveState, clock: Clock[float]
) -> None:
    live.heartbeat("w1@h", beat("w1@h"))
    asked_at = clock()
    clock.now += 1
    # Received while the inspect was on its way: the reply, not naming it, is older.
    live.received("fresh", "system.noop", "w1@h", None, 1.0)
    live.describe("w1@h", WorkerFacts("prefork", 2, 1, ("system",)), asked_at=asked_at)
    assert live.counts().reserved == 1
    clock.now += 1
    live.describe("w1@h", WorkerFacts("prefork", 2, 1, ("system",)), asked_at=clock())
    assert live.counts().reserved == 0


def test_live_tasks_are_bounded(live: LiveState) -> None:
    live.heartbeat("w1@h", beat("w1@h"))
    for n in range(250):
        live.sent(f"s{n}", "system", 1.0)
        live.received(f"r{n}", "system.noop", "w1@h", None, 1.0)
    assert live.counts().reserved == 100


def stored(client: redis.Redis, task_id: str) -> dict[str, str]:
    """A task's history record as text."""
    raw: dict[bytes, bytes] = client.hgetall(keys.monitor_task(task_id))  # type: ignore[assignment]
    return {k.decode(): v.decode() for k, v in raw.items()}


def test_task_events_become_one_history_record(
    router: EventRouter, redis_client: redis.Redis
) -> None:
    handle = router.handlers
    handle["task-sent"](
        event("task-sent", "t1", 10.0, name="system.noop", args="(" + "x" * 100 + ")", queue="etl")
    )
    handle["task-received"](event("task-received", "t1", 11.0, name="system.noop", hostname="w"))
    handle["task-started"](event("task-started", "t1", 12.0, hostname="w"))
    handle["task-failed"](
        event("task-failed", "t1", 13.0, exception="ValueError('no')", traceback="T" * 80)
    )
    # Late and out of order: it must not turn the failure back into a queued task.
    handle["task-sent"](event("task-sent", "t1", 10.0, name="system.noop", queue="etl"))
    router.flush()
    record = stored(redis_client, "t1")
    assert record["state"] == "FAILURE"
    assert (record["name"], record["worker"], record["queue"]) == ("system.noop", "w", "etl")
    assert len(record["args"]) == 20
    assert len(record["traceback"]) == 50
    assert float(record["finished_at"]) == 13.0
    assert redis_client.zrange(keys.monitor_index("state", "FAILURE"), 0, -1) == [b"t1"]
    assert redis_client.zcard(keys.monitor_index("state", "PENDING")) == 0
    assert redis_client.zrange(keys.monitor_index("queue", "etl"), 0, -1) == [b"t1"]


def test_a_receipt_adds_its_worker_to_what_the_heard_task_sent_recorded(
    router: EventRouter, redis_client: redis.Redis
) -> None:
    handle = router.handlers
    sent = event("task-sent", "t1", 10.0, name="system.noop", args="(1,)", queue="etl")
    handle["task-sent"](sent)
    router.flush()
    # The receipt repeats what the task-sent said; the record keeps what that said.
    handle["task-received"](
        event("task-received", "t1", 11.0, name="system.noop", args="(other,)", hostname="w")
    )
    # Sent before this monitor listened: the receipt is all there is to record.
    handle["task-received"](
        event("task-received", "t2", 11.0, name="etl.transform", args="(2,)", hostname="w")
    )
    router.flush()
    first, second = stored(redis_client, "t1"), stored(redis_client, "t2")
    assert (first["args"], first["queue"], first["worker"]) == ("(1,)", "etl", "w")
    assert (first["state"], float(first["received_at"])) == ("RECEIVED", 11.0)
    assert (second["name"], second["args"], second["worker"]) == ("etl.transform", "(2,)", "w")
    # Its queue is where its name routes to.
    assert second["queue"] == "etl"
    assert redis_client.zrange(keys.monitor_index("queue", "etl"), 0, -1) == [b"t1", b"t2"]


def test_a_task_known_only_from_an_inspect_records_its_queue_when_it_ends(
    router: EventRouter, redis_client: redis.Redis
) -> None:
    # The monitor started while the task ran: no sent or received event was heard.
    handle = router.handlers
    handle["worker-heartbeat"](beat("w"))
    held = LiveTask("t3", "system.sleep", "w", "system", "STARTED")
    router.live.describe("w", WorkerFacts("prefork", 2, 1, ("system",), (held,)), asked_at=0)
    handle["task-succeeded"](event("task-succeeded", "t3", 12.0, result="1", runtime=1.0))
    router.flush()
    assert stored(redis_client, "t3")["queue"] == "system"


def test_the_consumer_unpacks_batches_localizes_timestamps_and_skips_bad_events(
    router: EventRouter, redis_url: str, redis_client: redis.Redis
) -> None:
    app = make_celery("test-consumer", CommonSettings(redis_url=redis_url))
    consumer = EventConsumer(
        app, router, broker_url=redis_url, flush_s=0.1, backoff_max_s=1, on_connect=lambda: None
    )
    here = utcoffset()
    consumer.start()
    try:
        wait_until(consumer.connected.is_set, 10, "the consumer to subscribe")
        redis_client.publish("/0.celeryev/task.multi", b"not json")
        redis_client.publish("/0.celeryev/task.multi", b'{"body": "e30=", "properties": "?"}')
        publish_events(
            redis_client,
            [
                42,
                {"uuid": "t0"},
                # A sender an hour east of us: its timestamps are moved into our offset.
                event("task-sent", "t1", 10_000.0, utcoffset=here + 1, name="a", queue="etl"),
                {"type": "task-received", "uuid": "t2", "timestamp": "soon", "utcoffset": here},
                event("task-started", "t1", 10_001.0, utcoffset=here, hostname="w"),
            ],
        )
        task = keys.monitor_task("t1")
        wait_until(lambda: redis_client.hget(task, "state") == b"STARTED", 10, "t1 to start")
    finally:
        consumer.stop()
    raw: dict[bytes, bytes] = redis_client.hgetall(task)  # type: ignore[assignment]
    record = {k.decode(): v.decode() for k, v in raw.items()}
    assert float(record["sent_at"]) == 6_400.0
    assert float(record["started_at"]) == 10_001.0
    assert (record["name"], record["queue"], record["worker"]) == ("a", "etl", "w")
    assert not redis_client.exists(keys.monitor_task("t2"))
    assert consumer.connected.is_set()


@pytest.mark.slow
def test_the_consumer_hears_events_kombu_publishes_through_sentinel(
    router: EventRouter, redis_sentinel: SentinelCluster, redis_client: redis.Redis
) -> None:
    url = redis_sentinel.url()
    app = make_celery("test-consumer-sentinel", CommonSettings(redis_url=url))
    consumer = EventConsumer(
        app, router, broker_url=url, flush_s=0.1, backoff_max_s=1, on_connect=lambda: None
    )
    consumer.start()
    try:
        wait_until(consumer.connected.is_set, 10, "the consumer to subscribe")
        # Sent through kombu's SentinelChannel, on the topic it names for the database.
        with app.connection_for_write() as conn, app.events.Dispatcher(conn) as dispatcher:
            dispatcher.send("task-sent", uuid="s1", name="system.noop", queue="system")
        task = keys.monitor_task("s1")
        wait_until(lambda: redis_client.hget(task, "name") == b"system.noop", 10, "s1 recorded")
    finally:
        consumer.stop()
        app.close()


def test_a_batch_keeps_a_tasks_furthest_state_whatever_order_its_events_came_in() -> None:
    loop = asyncio.new_event_loop()
    try:
        feed = ChangeFeed(loop)
        with feed.subscribe() as changes:

            def task(state: str) -> dict[str, Any]:
                return {"type": "task", "id": "t1", "state": state}

            # The worker's task-succeeded, then the API's task-sent heard late.
            feed.add("task:t1", task("STARTED"))
            feed.add("task:t1", task("SUCCESS"))
            feed.add("task:t1", task("PENDING"))
            feed.add("task:t1", task("STARTED"))
            feed.add("worker:w1", {"type": "worker", "name": "w1", "online": True})
            feed.add("worker:w1", {"type": "worker", "name": "w1", "online": False})
            feed.publish()
            loop.run_until_complete(asyncio.sleep(0))
            batch = changes.get_nowait()
        assert [change.get("state", change.get("online")) for change in batch] == [
            "SUCCESS",
            False,
        ]
    finally:
        loop.close()
