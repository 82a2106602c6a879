"""Writing task events into the history: coalesced per task, one pipeline per batch."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import redis
from celery import states

from sdp_core import keys
from sdp_monitor.history import scripts
from sdp_monitor.history.record import Pending, replaces

__all__ = ["MAX_HELD", "RECORD_BATCH", "HistoryWriter"]

log = logging.getLogger(__name__)

# Tasks per RECORD call: one call holds Redis for about 10 µs a task, so about 2 ms at most.
RECORD_BATCH = 200
TRIM_BATCH = 1_000
# Each trim pass deletes at most this many batches, so one pass never holds Redis for long.
TRIM_PASSES = 20
# Most unfinished tasks held back at once; beyond it the oldest are written early.
MAX_HELD = 20_000

# After these a task's next change, if any, is a while away: its record is written at once.
SETTLED = frozenset({*states.READY_STATES, states.RETRY, "REJECTED"})


class HistoryWriter:
    """Buffers the changes of a batch of events and writes them in one round trip.

    A task's changes wait until it settles (finished, failed, revoked, retried, rejected) or
    until they have waited `hold_s`, so a task that finishes within the hold costs one record
    instead of one per flush it spans (about 40 % less Redis time for a queued no-op task).
    `held` shows what waits to the readers of task detail. Only the event consumer's thread
    writes; when Redis is away the buffer is kept and retried, up to `max_pending` tasks;
    beyond that the oldest changes are dropped and logged. A killed process loses what it held;
    the task's later events write it again, without what only the lost ones carried.
    The hold is timed by `clock` (monotonic seconds), which tests set by hand.
    """

    def __init__(
        self,
        client: redis.Redis,
        max_tasks: int,
        max_age_s: int,
        hold_s: float = 0.0,
        max_pending: int = 50_000,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.max_tasks = max_tasks
        self.max_age_s = max_age_s
        self.hold_s = hold_s
        self.max_pending = max_pending
        self.clock = clock
        # Unsettled tasks, oldest first, and settled ones due at the next flush.
        self._held: dict[str, Pending] = {}
        self._due: dict[str, Pending] = {}
        # The batch being written: still shown by `held` until Redis has it.
        self._writing: dict[str, Pending] = {}
        self._lock = threading.Lock()
        self._record = client.register_script(scripts.RECORD)
        self._trim = client.register_script(scripts.TRIM)

    def __len__(self) -> int:
        return len(self._held) + len(self._due)

    def add(self, task_id: str, at: float, state: str | None, fields: dict[str, str]) -> None:
        settled = state in SETTLED
        with self._lock:
            pending = self._due.get(task_id)
            if pending is None:
                pending = self._held.pop(task_id, None) if settled else self._held.get(task_id)
            if pending is None:
                if len(self) >= self.max_pending:
                    self._drop_oldest()
                pending = Pending(int(at * 1000), state, fields, self.clock())
            else:
                pending.fields.update(fields)
                if replaces(state, pending.state):
                    pending.state = state
            (self._due if settled or task_id in self._due else self._held)[task_id] = pending

    def _drop_oldest(self) -> None:
        chosen = self._held or self._due
        dropped = next(iter(chosen))
        del chosen[dropped]
        log.warning("history buffer full; dropped the changes of task %s", dropped)

    def held(self, task_id: str) -> Pending | None:
        """A copy of the changes of `task_id` not in Redis yet; safe from any thread."""
        with self._lock:
            pending = (
                self._due.get(task_id) or self._held.get(task_id) or self._writing.get(task_id)
            )
            if pending is None:
                return None
            return replace(pending, fields=dict(pending.fields))

    def flush(self, everything: bool = False) -> int:
        """Write what is due (`everything` on the way out); how many tasks (0 if Redis failed)."""
        with self._lock:
            batch = self._take(everything)
            if not batch:
                return 0
            self._writing = batch
        try:
            try:
                self._write(batch)
            except redis.exceptions.NoScriptError:
                # Redis restarted or its scripts were flushed: load it and write once more.
                self.client.script_load(scripts.RECORD)
                self._write(batch)
        except redis.RedisError as exc:
            log.warning("history write failed, kept %d tasks to retry: %s", len(batch), exc)
            with self._lock:
                self._writing = {}
                # Retried at the next flush, whatever their hold.
                self._due = batch
            return 0
        with self._lock:
            self._writing = {}
        return len(batch)

    def _take(self, everything: bool) -> dict[str, Pending]:
        """Under the lock: the settled tasks, and held ones whose hold is up or beyond the cap."""
        batch, self._due = self._due, {}
        if everything or self.hold_s <= 0:
            batch.update(self._held)
            self._held = {}
            return batch
        cutoff = self.clock() - self.hold_s
        over = len(self._held) - MAX_HELD
        expired = []
        for n, (task_id, pending) in enumerate(self._held.items()):
            if n >= over and pending.since > cutoff:
                break
            expired.append(task_id)
        for task_id in expired:
            batch[task_id] = self._held.pop(task_id)
        return batch

    def _write(self, batch: dict[str, Pending]) -> None:
        # EVALSHA directly: a Script called on a pipeline costs a SCRIPT EXISTS per flush.
        changes = [(task_id, p.first_ms, p.state, p.fields) for task_id, p in batch.items()]
        with self.client.pipeline(transaction=False) as pipe:
            for start in range(0, len(changes), RECORD_BATCH):
                args = scripts.record_args(changes[start : start + RECORD_BATCH])
                pipe.evalsha(self._record.sha, 1, keys.MONITOR_TASKS, *args)
            pipe.execute()

    def trim(self) -> int:
        """Drop tasks beyond the configured count and age; how many went."""
        cutoff_ms = int((time.time() - self.max_age_s) * 1000)
        removed = 0
        for _ in range(TRIM_PASSES):
            gone = int(
                self._trim(
                    keys=[keys.MONITOR_TASKS],
                    args=[
                        keys.MONITOR_INDEX_PREFIX,
                        keys.MONITOR_TASK_PREFIX,
                        cutoff_ms,
                        self.max_tasks,
                        TRIM_BATCH,
                        keys.MONITOR_TRIAGE_GROUPS,
                    ],
                )
            )
            removed += gone
            if gone < TRIM_BATCH:
                break
        return removed
