"""Recent throughput and queue depths, step by step, in a ring held in memory.

The event consumer's thread counts finished tasks into the step of their event's timestamp; a
sampler on the event loop records every queue's depth once per step. A step older than the
ring holds is forgotten as its slot is reused, so memory is bounded by the ring's length and
`MAX_SERIES_QUEUES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

__all__ = ["MAX_SERIES_QUEUES", "Sampler", "Series", "SeriesRing"]

log = logging.getLogger(__name__)

# Queues by name, the first this many: a step holds one depth for each.
MAX_SERIES_QUEUES = 100
# How far past a step's start the sampler wakes, so a timer firing early samples the new step.
WAKE_AFTER_S = 0.01


@dataclass(frozen=True, slots=True)
class Series:
    step_s: int
    starts: list[int]
    succeeded: list[float]
    failed: list[float]
    queues: dict[str, list[int | None]]


class SeriesRing:
    """The last `capacity` complete steps of `step_s` seconds and the one under way; thread-safe."""

    def __init__(self, step_s: int, capacity: int, clock: Callable[[], float] = time.time) -> None:
        self.step_s = step_s
        self.capacity = capacity
        self.clock = clock
        self._lock = threading.Lock()
        size = self._size = capacity + 1
        # Slot i holds step `_steps[i]` (-1: none yet); a slot found holding another is empty.
        self._steps = [-1] * size
        self._succeeded = [0] * size
        self._failed = [0] * size
        self._depths: list[dict[str, int] | None] = [None] * size

    def step_of(self, at: float) -> int:
        return math.floor(at / self.step_s)

    def finished(self, succeeded: bool, at: float) -> None:
        """A task succeeded or failed at `at` (its event's time)."""
        with self._lock:
            now = self.step_of(self.clock())
            # A clock ahead of the monitor's counts now; one older than the ring is forgotten.
            step = min(self.step_of(at), now)
            if step <= now - self._size:
                return
            slot = self._claim(step)
            if succeeded:
                self._succeeded[slot] += 1
            else:
                self._failed[slot] += 1

    def sampled(self, depths: dict[str, int]) -> None:
        """Queue depths read now."""
        names = sorted(depths)[:MAX_SERIES_QUEUES]
        with self._lock:
            slot = self._claim(self.step_of(self.clock()))
            self._depths[slot] = {name: depths[name] for name in names}

    def _claim(self, step: int) -> int:
        slot = step % self._size
        if self._steps[slot] != step:
            self._steps[slot] = step
            self._succeeded[slot] = self._failed[slot] = 0
            self._depths[slot] = None
        return slot

    def read(self, count: int) -> Series:
        """The last `count` complete steps, oldest first; rates per second."""
        with self._lock:
            last = self.step_of(self.clock()) - 1
            steps = range(last - min(count, self.capacity) + 1, last + 1)
            # Each step's slot, if it still holds that step.
            held = [s % self._size if self._steps[s % self._size] == s else None for s in steps]
            succeeded = [0 if i is None else self._succeeded[i] for i in held]
            failed = [0 if i is None else self._failed[i] for i in held]
            depths = [None if i is None else self._depths[i] for i in held]
        names = sorted({name for sample in depths if sample for name in sample})
        return Series(
            step_s=self.step_s,
            starts=[s * self.step_s for s in steps],
            succeeded=[n / self.step_s for n in succeeded],
            failed=[n / self.step_s for n in failed],
            queues={
                name: [None if sample is None else sample.get(name) for sample in depths]
                for name in names
            },
        )


def _report_death(task: asyncio.Task[None]) -> None:
    # Requests answer 503 from now on; the log says why.
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("the series sampler stopped", exc_info=exc)


class Sampler:
    """Records the queue depths once a step, just after it starts; a step Redis fails stays
    without them, and the next is tried."""

    def __init__(self, ring: SeriesRing, lengths: Callable[[], Awaitable[dict[str, int]]]) -> None:
        self.ring = ring
        self.lengths = lengths
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sdp-monitor-series")
        self._task.add_done_callback(_report_death)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            # The flag too: a cancel that lands inside a Redis client call can be swallowed.
            self._task.cancel()
            # A sampler that died already was answered 503 for; its error is not the stop's.
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        ring = self.ring
        while not self._stop.is_set():
            try:
                ring.sampled(await self.lengths())
            except aioredis.RedisError as exc:
                log.warning("queue depths not sampled: %s", exc)
            now = ring.clock()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stop.wait(), (ring.step_of(now) + 1) * ring.step_s - now + WAKE_AFTER_S
                )
