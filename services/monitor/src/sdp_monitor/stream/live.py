"""What the event stream says now: the workers and the unfinished tasks they hold.

Kept in memory and bounded: workers are dropped a while after they go offline, and at most
`max_tasks` unfinished tasks are tracked (the oldest forgotten first). The event consumer's
thread writes; request handlers read snapshots under the same lock.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sdp_core.queues import queue_for

__all__ = ["LiveState", "LiveTask", "TaskCounts", "Worker", "WorkerFacts", "queue_of"]

DEFAULT_HEARTBEAT_S = 2.0
# Queue names learnt from sent events; a bound, since any client may name a new queue.
MAX_QUEUE_NAMES = 1_000


@dataclass(slots=True)
class Worker:
    name: str
    last_heartbeat: float
    freq: float = DEFAULT_HEARTBEAT_S
    # It said goodbye (worker-offline); a heartbeat brings it back.
    left: bool = False
    processed: int = 0
    loadavg: tuple[float, ...] = ()
    software: str | None = None
    system: str | None = None
    pool: str | None = None
    concurrency: int | None = None
    pid: int | None = None
    queues: tuple[str, ...] = ()
    # Whether `inspect` has told its pool and queues since it (re)started.
    described: bool = False

    def online(self, now: float, missed: int) -> bool:
        return not self.left and now - self.last_heartbeat <= self.freq * missed


@dataclass(slots=True)
class LiveTask:
    id: str
    name: str | None
    worker: str | None
    queue: str | None
    state: str
    sent_at: float | None = None
    received_at: float | None = None
    started_at: float | None = None
    eta: float | None = None
    # When the monitor last heard of it (its own clock), to tell stale tasks from fresh ones.
    seen_at: float = 0.0


@dataclass(frozen=True, slots=True)
class WorkerFacts:
    """What `inspect` adds to the heartbeat: pool, concurrency, queues, tasks held."""

    pool: str | None
    concurrency: int | None
    pid: int | None
    queues: tuple[str, ...]
    tasks: tuple[LiveTask, ...] = ()


@dataclass(slots=True)
class TaskCounts:
    active: int = 0
    reserved: int = 0
    scheduled: int = 0
    processing: Counter[str] = field(default_factory=Counter)
    active_by_worker: Counter[str] = field(default_factory=Counter)


def queue_of(name: str | None) -> str | None:
    """The queue a task name routes to, for a task whose sent event was not seen."""
    if name is None:
        return None
    try:
        return queue_for(name).value
    except ValueError:
        return None


class LiveState:
    def __init__(
        self,
        missed_heartbeats: int,
        purge_after_s: float,
        max_tasks: int,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.missed = missed_heartbeats
        self.purge_after_s = purge_after_s
        self.max_tasks = max_tasks
        # Wall time for heartbeats and ETAs, which events state in it.
        self.clock = clock
        # When a task was last heard of, and when an inspect was sent, to compare the two.
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._workers: dict[str, Worker] = {}
        # Tasks a worker holds (received, not finished), oldest first.
        self._tasks: OrderedDict[str, LiveTask] = OrderedDict()
        # Queue and send time of tasks sent but not received yet, for routing and queue wait.
        self._sent: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        # Online at their last heartbeat or at the last sweep: who to report as gone offline.
        self._was_online: set[str] = set()
        self._queue_names: dict[str, None] = {}

    # Writes, from the event consumer's thread. The tasks they return are the live objects,
    # for that thread to read; request handlers get copies from the reads below.

    def heartbeat(
        self, name: str, event: dict[str, Any], *, hello: bool = False, leaving: bool = False
    ) -> bool:
        """Record a worker-online/heartbeat/offline event; True when it needs inspecting."""
        with self._lock:
            worker = self._workers.get(name)
            if worker is None:
                worker = self._workers[name] = Worker(name, self.clock())
            if hello:
                # A restarted worker may run another pool on other queues.
                worker.described = False
            worker.last_heartbeat = self.clock()
            worker.left = leaving
            worker.freq = float(event.get("freq") or DEFAULT_HEARTBEAT_S)
            worker.processed = int(event.get("processed") or worker.processed)
            worker.loadavg = tuple(event.get("loadavg") or ())
            ident, version = event.get("sw_ident"), event.get("sw_ver")
            worker.software = f"{ident} {version}" if ident else worker.software
            worker.system = event.get("sw_sys") or worker.system
            if leaving:
                self._drop_tasks_of(name)
                self._was_online.discard(name)
            else:
                self._was_online.add(name)
            return not (leaving or worker.described)

    def describe(self, name: str, facts: WorkerFacts, asked_at: float) -> None:
        """What an inspect sent at `asked_at` (by `monotonic`) found; it replaces what events
        told before then."""
        with self._lock:
            worker = self._workers.get(name)
            if worker is None:
                return
            worker.pool, worker.concurrency = facts.pool, facts.concurrency
            worker.pid, worker.queues = facts.pid, facts.queues
            worker.described = True
            held = {task.id for task in facts.tasks}
            # Tasks that ended while no event could be heard (the stream was down).
            stale = [
                t.id
                for t in self._tasks.values()
                if t.worker == name and t.seen_at < asked_at and t.id not in held
            ]
            for task_id in stale:
                del self._tasks[task_id]
            for task in facts.tasks:
                # An event heard since the inspect was sent is fresher than its reply.
                self._tasks.setdefault(task.id, replace(task, seen_at=asked_at))
            self._bound()

    def forget_facts(self, names: Iterable[str] | None = None) -> None:
        """Have these workers (every one: after events were lost) inspected again at their
        next heartbeat, and at each one after until an inspect succeeds."""
        with self._lock:
            for name, worker in self._workers.items():
                if names is None or name in names:
                    worker.described = False

    def sent(self, task_id: str, queue: str | None, at: float) -> None:
        with self._lock:
            self._sent[task_id] = (queue, at)
            while len(self._sent) > self.max_tasks:
                self._sent.popitem(last=False)
            if (
                queue
                and queue not in self._queue_names
                and len(self._queue_names) < MAX_QUEUE_NAMES
            ):
                self._queue_names[queue] = None

    def received(
        self, task_id: str, name: str | None, worker: str | None, eta: float | None, at: float
    ) -> LiveTask:
        with self._lock:
            queue, sent_at = self._sent.pop(task_id, (None, None))
            task = LiveTask(
                task_id,
                name,
                worker,
                queue or queue_of(name),
                "RECEIVED",
                sent_at=sent_at,
                received_at=at,
                eta=eta,
                seen_at=self.monotonic(),
            )
            self._tasks[task_id] = task
            self._bound()
            return task

    def started(self, task_id: str, worker: str | None, at: float) -> LiveTask | None:
        """Mark a task running; None when its receipt was not seen."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            task.state, task.started_at = "STARTED", at
            task.worker = worker or task.worker
            task.seen_at = self.monotonic()
            return task

    def finished(self, task_id: str) -> LiveTask | None:
        with self._lock:
            self._sent.pop(task_id, None)
            return self._tasks.pop(task_id, None)

    def sweep(self) -> tuple[list[str], list[str]]:
        """Workers that went offline and workers dropped since the last sweep."""
        now = self.clock()
        with self._lock:
            online = {n for n, w in self._workers.items() if w.online(now, self.missed)}
            went_offline = sorted(self._was_online - online)
            self._was_online = online
            for name in went_offline:
                self._drop_tasks_of(name)
            purged = sorted(
                n
                for n, w in self._workers.items()
                if n not in online and now - w.last_heartbeat > self.purge_after_s
            )
            for name in purged:
                del self._workers[name]
            return went_offline, purged

    def _drop_tasks_of(self, worker: str) -> None:
        for task_id in [t.id for t in self._tasks.values() if t.worker == worker]:
            del self._tasks[task_id]

    def _bound(self) -> None:
        while len(self._tasks) > self.max_tasks:
            self._tasks.popitem(last=False)

    # Reads, from request handlers.

    def workers(self) -> list[tuple[Worker, bool]]:
        """Every worker not yet purged, with whether it is online, by name."""
        now = self.clock()
        with self._lock:
            return [
                (replace(w), w.online(now, self.missed))
                for _, w in sorted(self._workers.items())
                if w.online(now, self.missed) or now - w.last_heartbeat <= self.purge_after_s
            ]

    def worker(self, name: str) -> tuple[Worker, bool] | None:
        now = self.clock()
        with self._lock:
            found = self._workers.get(name)
            return None if found is None else (replace(found), found.online(now, self.missed))

    def online(self) -> list[str]:
        now = self.clock()
        with self._lock:
            return sorted(n for n, w in self._workers.items() if w.online(now, self.missed))

    def counts(self) -> TaskCounts:
        """Tasks held by online workers: running, waiting to run, and waiting for an ETA."""
        now = self.clock()
        counts = TaskCounts()
        with self._lock:
            online = {n for n, w in self._workers.items() if w.online(now, self.missed)}
            for task in self._tasks.values():
                if task.worker not in online:
                    continue
                if task.state == "STARTED":
                    counts.active += 1
                    counts.active_by_worker[task.worker] += 1
                    if task.queue:
                        counts.processing[task.queue] += 1
                elif task.eta is not None and task.eta > now:
                    counts.scheduled += 1
                else:
                    counts.reserved += 1
        return counts

    def queues_consumed(self) -> dict[str, list[str]]:
        """Queue name -> online workers consuming it."""
        now = self.clock()
        consumers: dict[str, list[str]] = {}
        with self._lock:
            for name, worker in sorted(self._workers.items()):
                if worker.online(now, self.missed):
                    for queue in worker.queues:
                        consumers.setdefault(queue, []).append(name)
        return consumers

    def queues_seen(self) -> list[str]:
        """Queues that sent tasks named."""
        with self._lock:
            return list(self._queue_names)
