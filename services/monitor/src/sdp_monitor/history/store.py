"""The history as requests use it: one task, a filtered page newest first, an operator's mark."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from sdp_core import keys
from sdp_core.replies import text
from sdp_http.errors import ValidationFailed
from sdp_monitor.history import scripts
from sdp_monitor.history.record import (
    INDEXED_FIELDS,
    SCORE_FIELD,
    STATE_FIELD,
    SUMMARY_FIELDS,
    Pending,
    replaces,
)

__all__ = ["HistoryStore", "Page", "TaskFilter"]

# Most index members one page examines when several filters must all match.
SCAN_BUDGET = 5_000

# A time in ms and a count to skip, each small enough for Redis to take as an integer.
_CURSOR = re.compile(r"^(\d{1,15}):(\d{1,9})$")


@dataclass(frozen=True, slots=True)
class TaskFilter:
    # One attribute per indexed field (record.INDEXED_FIELDS), of the same name.
    state: str | None = None
    name: str | None = None
    worker: str | None = None
    queue: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def indexes(self) -> list[str]:
        wanted = ((f, getattr(self, f)) for f in INDEXED_FIELDS)
        return [keys.monitor_index(f, v) for f, v in wanted if v is not None]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[tuple[str, dict[str, str]]]
    next_cursor: str | None


def _summary(row: list[bytes | None]) -> dict[str, str]:
    return {f: v.decode(errors="replace") for f, v in zip(SUMMARY_FIELDS, row, strict=True) if v}


def _merged(record: dict[str, str] | None, held: Pending | None) -> dict[str, str] | None:
    """A task's record with the changes not written yet, merged as the RECORD script will."""
    if held is None:
        return record
    result = {SCORE_FIELD: str(held.first_ms), **(record or {}), **held.fields}
    if held.state is not None and replaces(held.state, result.get(STATE_FIELD)):
        result[STATE_FIELD] = held.state
    return result


class HistoryStore:
    """Reads the history; `held` looks up changes a writer in this process has not written."""

    def __init__(
        self, client: aioredis.Redis, held: Callable[[str], Pending | None] | None = None
    ) -> None:
        self.client = client
        self._held = held
        self._query = client.register_script(scripts.QUERY)
        self._record = client.register_script(scripts.RECORD)

    async def mark(self, task_id: str, state: str | None, fields: Mapping[str, str]) -> None:
        """Record what an operator did to a task, through the same script as the events."""
        change = (task_id, int(time.time() * 1000), state, dict(fields))
        await self._record(keys=[keys.MONITOR_TASKS], args=scripts.record_args([change]))

    async def get(self, task_id: str) -> dict[str, str] | None:
        # What is held is read first: a flush that ends before the read of Redis leaves the same
        # changes in both, while the other order could miss changes in neither.
        held = self._held(task_id) if self._held else None
        raw: Mapping[Any, Any] = await self.client.hgetall(keys.monitor_task(task_id))
        record = {text(k): text(v) for k, v in raw.items()} if raw else None
        return _merged(record, held)

    async def page(self, where: TaskFilter, cursor: str | None, limit: int) -> Page:
        indexes = where.indexes() or [keys.MONITOR_TASKS]
        if len(indexes) > 1:
            # Walk the smallest index; the others only confirm membership.
            async with self.client.pipeline(transaction=False) as pipe:
                for key in indexes:
                    pipe.zcard(key)
                sizes: list[int] = await pipe.execute()
            indexes = [k for _, k in sorted(zip(sizes, indexes, strict=True))]
        top, skip = self._start(where, cursor)
        bottom = "-inf" if where.since_ms is None else str(where.since_ms)
        ids, next_cursor = await self._query(
            keys=indexes, args=[top, skip, bottom, limit, SCAN_BUDGET]
        )
        task_ids = [text(i) for i in ids]
        async with self.client.pipeline(transaction=False) as pipe:
            for task_id in task_ids:
                pipe.hmget(keys.monitor_task(task_id), SUMMARY_FIELDS)
            rows: list[list[bytes | None]] = await pipe.execute()
        items = [
            (task_id, _summary(row))
            for task_id, row in zip(task_ids, rows, strict=True)
            # Trimmed between the query and the read.
            if any(row)
        ]
        return Page(items, text(next_cursor) or None)

    @staticmethod
    def _start(where: TaskFilter, cursor: str | None) -> tuple[str, int]:
        if cursor is None:
            return ("+inf" if where.until_ms is None else str(where.until_ms)), 0
        match = _CURSOR.match(cursor)
        if match is None:
            raise ValidationFailed(
                "cursor: not a cursor this endpoint returned", [("cursor", "malformed cursor")]
            )
        return match.group(1), int(match.group(2))
