"""Writing task events into the history: coalesced per task, one pipeline per batch."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import redis

from sdp_core import keys
from sdp_monitor.history import scripts

__all__ = ["RECORD_BATCH", "HistoryWriter", "state_rank"]

log = logging.getLogger(__name__)

# Tasks per RECORD call: one call holds Redis for about 10 µs a task, so about 2 ms at most.
RECORD_BATCH = 200
TRIM_BATCH = 1_000
# Each trim pass deletes at most this many batches, so one pass never holds Redis for long.
TRIM_PASSES = 20

_RANKS = {"PENDING": 0, "SUCCESS": 2, "FAILURE": 2, "REVOKED": 2}


def state_rank(state: str) -> int:
    """Sent < held by a worker < finished: what the RECORD script lets replace what."""
    return _RANKS.get(state, 1)


@dataclass(slots=True)
class _Pending:
    first_ms: int
    state: str | None
    fields: dict[str, str] = field(default_factory=dict)


class HistoryWriter:
    """Buffers the changes of a batch of events and writes them in one round trip.

    Only the event consumer's thread uses it. When Redis is away the buffer is kept and
    retried, up to `max_pending` tasks; beyond that the oldest changes are dropped and logged.
    """

    def __init__(
        self,
        client: redis.Redis,
        max_tasks: int,
        max_age_s: int,
        max_pending: int = 50_000,
    ) -> None:
        self.client = client
        self.max_tasks = max_tasks
        self.max_age_s = max_age_s
        self.max_pending = max_pending
        self._pending: dict[str, _Pending] = {}
        self._record = client.register_script(scripts.RECORD)
        self._trim = client.register_script(scripts.TRIM)

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, task_id: str, at: float, state: str | None, fields: dict[str, str]) -> None:
        pending = self._pending.get(task_id)
        if pending is None:
            if len(self._pending) >= self.max_pending:
                dropped = next(iter(self._pending))
                del self._pending[dropped]
                log.warning("history buffer full; dropped the changes of task %s", dropped)
            self._pending[task_id] = _Pending(int(at * 1000), state, fields)
            return
        pending.fields.update(fields)
        if state is not None and (
            pending.state is None or state_rank(state) >= state_rank(pending.state)
        ):
            pending.state = state

    def flush(self) -> int:
        """Write what is buffered; the number of tasks written (0 when Redis failed)."""
        if not self._pending:
            return 0
        batch = self._pending
        try:
            self._write(batch)
        except redis.exceptions.NoScriptError:
            # Redis restarted or its scripts were flushed: load it and write once more.
            try:
                self.client.script_load(scripts.RECORD)
                self._write(batch)
            except redis.RedisError as exc:
                return self._kept(batch, exc)
        except redis.RedisError as exc:
            return self._kept(batch, exc)
        self._pending = {}
        return len(batch)

    def _write(self, batch: dict[str, _Pending]) -> None:
        # EVALSHA directly: a Script called on a pipeline costs a SCRIPT EXISTS per flush.
        changes = [(task_id, p.first_ms, p.state, p.fields) for task_id, p in batch.items()]
        with self.client.pipeline(transaction=False) as pipe:
            for start in range(0, len(changes), RECORD_BATCH):
                args = scripts.record_args(changes[start : start + RECORD_BATCH])
                pipe.evalsha(self._record.sha, 1, keys.MONITOR_TASKS, *args)
            pipe.execute()

    @staticmethod
    def _kept(batch: dict[str, _Pending], exc: redis.RedisError) -> int:
        log.warning("history write failed, kept %d tasks to retry: %s", len(batch), exc)
        return 0

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
                    ],
                )
            )
            removed += gone
            if gone < TRIM_BATCH:
                break
        return removed
