"""Every event the cluster sends, heard by Celery's own receiver on a thread, for counting; and
the raw messages Celery publishes for one task's events, for code that reads them off Redis."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery
from celery.events.receiver import EventReceiver

from sdp_testing.processes import wait_until

__all__ = ["EventLog", "event_messages", "recording_events"]


class EventLog:
    """Task events counted by (type, task id); the workers heard from, by hostname."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: Counter[tuple[str, str]] = Counter()
        self._workers: set[str] = set()

    def hear(self, event: dict[str, Any]) -> None:
        with self._lock:
            kind = str(event.get("type", ""))
            if kind.startswith("task-"):
                self._tasks[kind, str(event.get("uuid"))] += 1
            elif kind.startswith("worker-"):
                self._workers.add(str(event.get("hostname")))

    def count(self, kind: str, task_id: str) -> int:
        with self._lock:
            return self._tasks[kind, task_id]

    def wait_for_worker(self, hostname: str, timeout_s: float = 30) -> None:
        """Until the worker's events arrive: what it sends from now on is heard."""

        def heard() -> bool:
            with self._lock:
                return hostname in self._workers

        wait_until(heard, timeout_s, f"events from {hostname}")


@contextmanager
def recording_events(app: Celery) -> Iterator[EventLog]:
    """Record every event until the block ends."""
    log = EventLog()
    receiver: EventReceiver | None = None
    connection = app.connection_for_read()

    def run() -> None:
        nonlocal receiver
        receiver = app.events.Receiver(connection, handlers={"*": log.hear})
        # A wake-up makes the online workers beat at once, which wait_for_worker hears.
        receiver.capture(limit=None, timeout=None, wakeup=True)

    thread = threading.Thread(target=run, name="sdp-test-events", daemon=True)
    thread.start()
    try:
        yield log
    finally:
        if receiver is not None:
            receiver.should_stop = True
        thread.join(10)
        connection.release()


def event_messages(app: Celery, client: redis.Redis, channels: str) -> list[bytes]:
    """One task's events as kombu puts them on the Redis channels matching `channels`: a
    client's `task-sent`, then a worker's batch of `task-received`, `-started`, `-succeeded`."""
    task_id = "5e1f0c2a-9d4b-4c3e-8a7f-0b6d2e4f1a93"
    about = {"name": "system.noop", "args": "(1, 'two')", "kwargs": "{'three': 3}", "retries": 0}
    lineage = {"root_id": task_id, "parent_id": None, "eta": None, "expires": None}
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    try:
        pubsub.psubscribe(channels)
        wait_until(lambda: pubsub.get_message(timeout=0.1) is not None, 5, "the subscription")
        with app.connection_for_write() as connection:
            with app.events.Dispatcher(connection) as client_side:
                client_side.send(
                    "task-sent",
                    uuid=task_id,
                    queue="system",
                    routing_key="system",
                    exchange="",
                    **about,
                    **lineage,
                )
            # As a worker sends task events: buffered, one list per message.
            with app.events.Dispatcher(
                connection, hostname="w1@h", buffer_group=["task"], buffer_limit=3
            ) as worker_side:
                worker_side.send("task-received", uuid=task_id, **about, **lineage)
                worker_side.send("task-started", uuid=task_id)
                worker_side.send("task-succeeded", uuid=task_id, result="None", runtime=0.0012)
        messages: list[bytes] = []
        deadline = time.monotonic() + 10
        while len(messages) < 2 and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
            if message is not None and message["type"] == "pmessage":
                messages.append(message["data"])
    finally:
        pubsub.close()
    assert len(messages) == 2, f"heard {len(messages)} of 2 event messages on {channels}"
    return messages
