"""Failed and revoked tasks by triage group: the failures summary, and what a bulk retry matches.

RECORD keeps one index per group (record.TRIAGE_FIELD), scored by when each task ended, and the
set of groups in use, so a summary costs a few commands per group and a match a range read per
group, whatever the size of the history.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from sdp_core import keys
from sdp_core.replies import text
from sdp_monitor.history.record import TRIAGE_FIELD, TRIAGE_SEP

__all__ = ["Group", "GroupSummary", "Triage", "TriageFilter", "Window"]


@dataclass(frozen=True, slots=True, order=True)
class Group:
    state: str
    # Empty for a state not grouped by it (record.TRIAGE_STATES).
    exception_type: str
    # Empty when the history never heard the task's name.
    task: str

    @classmethod
    def parse(cls, value: str) -> Group:
        state, kind, task = value.split(TRIAGE_SEP, 2)
        return cls(state, kind, task)

    @property
    def index(self) -> str:
        value = TRIAGE_SEP.join((self.state, self.exception_type, self.task))
        return keys.monitor_index(TRIAGE_FIELD, value)


@dataclass(frozen=True, slots=True)
class Window:
    """When the tasks ended, epoch ms, both ends included; None leaves that end open."""

    since_ms: int | None = None
    until_ms: int | None = None

    @classmethod
    def of(cls, since_s: float | None, until_s: float | None) -> Window:
        return cls(
            None if since_s is None else math.ceil(since_s * 1000),
            None if until_s is None else math.floor(until_s * 1000),
        )

    @property
    def low(self) -> str:
        return "-inf" if self.since_ms is None else str(self.since_ms)

    @property
    def high(self) -> str:
        return "+inf" if self.until_ms is None else str(self.until_ms)


@dataclass(frozen=True, slots=True)
class TriageFilter:
    """The groups of one state; of one task name and exception type when they are given."""

    state: str
    task: str | None = None
    exception_type: str | None = None

    def matches(self, group: Group) -> bool:
        return (
            group.state == self.state
            and (self.task is None or group.task == self.task)
            and (self.exception_type is None or group.exception_type == self.exception_type)
        )


@dataclass(frozen=True, slots=True)
class GroupSummary:
    group: Group
    count: int
    first_ms: int
    last_ms: int
    # The group's last task in the window, and its exception as stored.
    sample_id: str
    sample_exception: str | None


class Triage:
    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    async def groups(self, where: TriageFilter) -> list[Group]:
        members: Any = await self.client.smembers(keys.MONITOR_TRIAGE_GROUPS)
        found = (Group.parse(text(member)) for member in members)
        return sorted(group for group in found if where.matches(group))

    async def summary(self, where: TriageFilter, window: Window) -> list[GroupSummary]:
        """Each group with tasks in the window: most tasks first, then the latest."""
        groups = await self.groups(where)
        async with self.client.pipeline(transaction=False) as pipe:
            for group in groups:
                pipe.zcount(group.index, window.low, window.high)
                pipe.zrangebyscore(
                    group.index, window.low, window.high, start=0, num=1, withscores=True
                )
                pipe.zrevrangebyscore(
                    group.index, window.high, window.low, start=0, num=1, withscores=True
                )
            replies: list[Any] = await pipe.execute()
        # Each group with a task in the window: its count, first and last (id, score).
        present = [
            (group, int(count), first[0], last[0])
            for group, count, first, last in zip(
                groups, replies[0::3], replies[1::3], replies[2::3], strict=True
            )
            if count and first and last
        ]
        async with self.client.pipeline(transaction=False) as pipe:
            for *_, last in present:
                pipe.hget(keys.monitor_task(text(last[0])), "exception")
            exceptions: list[Any] = await pipe.execute()
        summaries = []
        for (group, count, first, last), exception in zip(present, exceptions, strict=True):
            summaries.append(
                GroupSummary(
                    group,
                    count,
                    first_ms=int(first[1]),
                    last_ms=int(last[1]),
                    sample_id=text(last[0]),
                    sample_exception=None if exception is None else text(exception),
                )
            )
        summaries.sort(key=lambda s: (-s.count, -s.last_ms, s.group))
        return summaries

    async def count(self, groups: list[Group], window: Window) -> int:
        async with self.client.pipeline(transaction=False) as pipe:
            for group in groups:
                pipe.zcount(group.index, window.low, window.high)
            counts: list[int] = await pipe.execute()
        return sum(counts)

    async def oldest(self, groups: list[Group], window: Window, limit: int) -> list[str]:
        """The `limit` tasks of these groups that ended first in the window, in that order."""
        async with self.client.pipeline(transaction=False) as pipe:
            for group in groups:
                pipe.zrangebyscore(
                    group.index, window.low, window.high, start=0, num=limit, withscores=True
                )
            replies: list[list[tuple[Any, float]]] = await pipe.execute()
        runs = ([(score, text(member)) for member, score in reply] for reply in replies)
        return [task_id for _, task_id in itertools.islice(heapq.merge(*runs), limit)]

    async def retried_as(self, task_ids: list[str]) -> list[str | None]:
        """The task each of these was last retried as through the monitor, if it was."""
        async with self.client.pipeline(transaction=False) as pipe:
            for task_id in task_ids:
                pipe.hget(keys.monitor_task(task_id), "retried_as")
            replies: list[Any] = await pipe.execute()
        return [None if reply is None else text(reply) for reply in replies]
