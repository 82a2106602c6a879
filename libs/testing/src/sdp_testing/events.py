"""Every event the cluster sends, heard by Celery's own receiver on a thread, for counting."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from celery.events.receiver import EventReceiver

from sdp_testing.processes import wait_until

__all__ = ["EventLog", "recording_events"]


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
