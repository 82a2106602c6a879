"""What heartbeats do not carry (pool, concurrency, queues, tasks held), asked once per worker.

A worker is inspected when it first appears or comes back online and after a control call that
changes its pool or queues, on a thread of its own, so neither the event consumer nor a request
ever waits for a reply.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from sdp_monitor.cluster.control import broadcast
from sdp_monitor.stream.live import LiveState, LiveTask, WorkerFacts

__all__ = [
    "COMMANDS",
    "Inspector",
    "describe",
    "facts_from",
    "pool_kind",
    "pool_processes",
    "pool_size",
]

log = logging.getLogger(__name__)


def pool_kind(stats: dict[str, Any]) -> str | None:
    # "celery.concurrency.prefork:TaskPool" -> "prefork"
    text = str((stats.get("pool") or {}).get("implementation") or "")
    return text.split(":", 1)[0].rsplit(".", 1)[-1] or None


def pool_processes(stats: dict[str, Any]) -> list[int] | None:
    """The pids of a prefork pool's processes; None for a pool without any (threads, solo)."""
    processes = (stats.get("pool") or {}).get("processes")
    return [int(pid) for pid in processes] if isinstance(processes, list) else None


def pool_size(stats: dict[str, Any]) -> int | None:
    """How many tasks the pool runs at once now.

    A prefork pool's `max-concurrency` is the size it started with and never follows a grow or
    shrink; its processes do.
    """
    processes = pool_processes(stats)
    if processes is not None:
        return len(processes)
    limit = (stats.get("pool") or {}).get("max-concurrency")
    return int(limit) if limit is not None else None


def _task(name: str, request: dict[str, Any], state: str, eta: str | None = None) -> LiveTask:
    delivery = request.get("delivery_info") or {}
    return LiveTask(
        id=str(request["id"]),
        name=request.get("name"),
        worker=name,
        queue=delivery.get("routing_key"),
        state=state,
        eta=datetime.fromisoformat(eta).timestamp() if eta else None,
    )


COMMANDS = ("stats", "active_queues", "active", "reserved", "scheduled")


def describe(app: Celery, name: str, timeout_s: float) -> WorkerFacts | None:
    """One worker's pool, queues and held tasks; None unless it answered every question."""
    answers: dict[str, Any] = {}
    for command in COMMANDS:
        answers[command] = broadcast(app, command, [name], timeout_s).get(name)
        if answers[command] is None:
            # Its answers would be thrown away: not waiting out a timeout for each question left
            # keeps a silent worker from holding up the other workers' inspections.
            return None
    return facts_from(name, answers)


def facts_from(name: str, answers: dict[str, Any]) -> WorkerFacts | None:
    """The facts in a worker's answers to `COMMANDS`; None when any is missing.

    A worker under load may answer one question and not the next within the timeout: taken as
    it came, its queues (or the tasks it holds) would read as none until it restarted.
    """
    stats = answers.get("stats")
    if not isinstance(stats, dict) or any(answers.get(c) is None for c in COMMANDS):
        return None
    tasks = [_task(name, r, "STARTED") for r in answers["active"]]
    tasks += [_task(name, r, "RECEIVED") for r in answers["reserved"]]
    tasks += [_task(name, s["request"], "RECEIVED", s.get("eta")) for s in answers["scheduled"]]
    return WorkerFacts(
        pool=pool_kind(stats),
        concurrency=pool_size(stats),
        pid=stats.get("pid"),
        queues=tuple(str(q["name"]) for q in answers["active_queues"]),
        tasks=tuple(tasks),
    )


class Inspector:
    def __init__(self, app: Celery, live: LiveState, timeout_s: float) -> None:
        self.app = app
        self.live = live
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._queued: set[str] = set()
        self._asks: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        # A daemon: kombu retries a broadcast's connection for as long as the broker is away,
        # and an executor's thread would then keep the process from exiting.
        threading.Thread(target=self._run, name="sdp-monitor-inspect", daemon=True).start()

    def request(self, names: Iterable[str]) -> None:
        """Inspect these workers soon; a worker already waiting is not asked twice."""
        with self._lock:
            fresh = [n for n in names if n not in self._queued]
            self._queued.update(fresh)
        for name in fresh:
            self._asks.put(name)

    def refresh(self, names: Sequence[str]) -> None:
        """Inspect workers a control call changed; should that inspect go unanswered, their
        heartbeats ask again."""
        self.live.forget_facts(names)
        self.request(names)

    def _run(self) -> None:
        while not self._closed.is_set():
            name = self._asks.get()
            if name is None or self._closed.is_set():
                return
            self._describe(name)

    def _describe(self, name: str) -> None:
        with self._lock:
            self._queued.discard(name)
        asked_at = self.live.monotonic()
        try:
            facts = describe(self.app, name, self.timeout_s)
        except (OSError, OperationalError) as exc:
            log.warning("could not inspect worker %s: %s", name, exc)
            return
        except Exception:
            # The thread must outlive any one worker's answers.
            log.exception("inspecting worker %s failed", name)
            return
        if facts is None:
            log.info("worker %s did not answer an inspect within %s s", name, self.timeout_s)
            return
        self.live.describe(name, facts, asked_at)

    def close(self) -> None:
        """Drop the asks not started; one under way ends on its own."""
        self._closed.set()
        self._asks.put(None)
