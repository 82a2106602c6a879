"""Writing task events into the history: coalesced per task, one pipeline per batch."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import redis

from sdp_core import keys
from sdp_monitor.history import scripts

__all__ = ["HistoryWriter", "state_rank"]

log = logging.getLogger(__name__)

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
        script_keys = keys.MONITOR_TASKS
        with self.client.pipeline(transaction=False) as pipe:
            for task_id, pending in batch.items():
                args: list[str | int] = [
                    keys.MONITOR_INDEX_PREFIX,
                    task_id,
                    pending.first_ms,
                    pending.state or "",
                ]
                for name, value in pending.fields.items():
                    args += (name, value)
                self._record(keys=[keys.monitor_task(task_id), script_keys], args=args, client=pipe)
            try:
                pipe.execute()
            except redis.RedisError as exc:
                log.warning("history write failed, kept %d tasks to retry: %s", len(batch), exc)
                return 0
        self._pending = {}
        return len(batch)

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
